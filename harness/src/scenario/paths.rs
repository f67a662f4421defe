//! Files a scenario names (model files, golden outputs) are relative to the
//! scenario file; they are made absolute once, so worker processes and run
//! folders agree, and checked to exist before anything runs.

use std::path::{Path, PathBuf};

use super::Case;
use super::expand::Invalid;

fn resolve(base: &Path, path: &Path, key: &str, is_dir: bool) -> Result<PathBuf, Invalid> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let full = std::path::absolute(&joined).unwrap_or(joined);
    let found = if is_dir {
        full.is_dir()
    } else {
        full.is_file()
    };
    if !found {
        return Err(Invalid {
            key: key.into(),
            group: None,
            message: format!(
                "{} `{}` does not exist (looked for {})",
                if is_dir { "folder" } else { "file" },
                path.display(),
                full.display()
            ),
        });
    }
    Ok(full)
}

/// Resolves every case's model file, golden folder and reference file
/// against `base`, the scenario file's folder.
pub fn resolve_case_paths(cases: &mut [Case], base: &Path) -> Result<(), Invalid> {
    for case in cases {
        if let Some(llama) = &mut case.model.llama {
            let is_dir = llama.format == super::CheckpointFormat::Hf;
            llama.path = resolve(base, &llama.path, llama.format.key(), is_dir)?;
            // An HF folder holds either family; its config.json says which.
            if is_dir && inferbench_models::bert_folder::is_bert_folder(&llama.path) {
                case.model.encoder = Some(llama.path.clone());
                case.model.llama = None;
            }
        }
        if let Some(file) = &mut case.model.file {
            if crate::registry::format_of(&file.path).is_none() {
                return Err(Invalid {
                    key: "file".into(),
                    group: None,
                    message: format!(
                        "`{}` is not a model format any backend takes; expected {}",
                        file.path.display(),
                        crate::registry::model_files_text()
                    ),
                });
            }
            file.path = resolve(base, &file.path, "file", false)?;
        }
        if let Some(golden) = &case.golden {
            case.golden = Some(resolve(base, golden, "golden", true)?);
        }
        if let Some(reference) = &mut case.reference_case {
            reference.file = resolve(base, &reference.file, "file", false)?;
        }
        if let Some(tokenizer) = case.endpoint.as_mut().and_then(|e| e.tokenizer.as_mut()) {
            *tokenizer = resolve(base, tokenizer, "tokenizer", false)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::{ReferenceKind, ScenarioError, parse_str};
    use std::path::Path;

    fn load(dir: &Path, text: &str) -> Result<crate::scenario::LoadedScenario, ScenarioError> {
        parse_str(text, &dir.join("s.toml"), "s", 1)
    }

    fn message(e: ScenarioError) -> (usize, String) {
        match e {
            ScenarioError::Invalid { line, message, .. } => (line, message),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn model_files_resolve_against_the_scenario_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.onnx"), b"").unwrap();
        let s = load(
            dir.path(),
            "backends = 'ort'\n[model]\nfile = 'm.onnx'\nvocab_size = 9\n",
        )
        .unwrap();
        let c = &s.cases[0];
        let file = c.model.file.as_ref().unwrap();
        assert_eq!(file.path, dir.path().join("m.onnx"));
        assert_eq!((file.vocab_size, c.model.name.as_str()), (Some(9), "m"));
        assert_eq!(
            c.reference,
            ReferenceKind::None,
            "no f64 reference for files"
        );
        assert!(c.id.starts_with("m/ort/cpu/f32/"), "{}", c.id);
    }

    #[test]
    fn file_mistakes_are_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.onnx"), b"").unwrap();
        let (line, m) = message(load(dir.path(), "[model]\n\nfile = 'gone.onnx'\n").unwrap_err());
        assert_eq!(line, 3);
        assert!(m.starts_with("file `gone.onnx` does not exist"), "{m}");
        let (line, m) =
            message(load(dir.path(), "[model]\nfile = 'm.onnx'\nhidden = 64\n").unwrap_err());
        assert_eq!(
            (line, m.as_str()),
            (
                3,
                "`hidden` is a knob of the synthetic GPT; a model `file` has its own"
            )
        );
        let (_, m) = message(
            load(
                dir.path(),
                "[model]\nfile = 'm.onnx'\n[accuracy]\nreference = 'f64'\n",
            )
            .unwrap_err(),
        );
        assert!(m.contains("synthetic GPT only"), "{m}");
        let (_, m) = message(
            load(
                dir.path(),
                "[model]\nfile = 'm.onnx'\n[accuracy]\nreference = 'golden'\n",
            )
            .unwrap_err(),
        );
        assert!(m.contains("needs `golden ="), "{m}");
        let (_, m) = message(load(dir.path(), "[accuracy]\nreference = 'case'\n").unwrap_err());
        assert!(m.contains("for model files"), "{m}");
        let (_, m) = message(load(dir.path(), "[model]\ndims = { n = 2 }\n").unwrap_err());
        assert!(m.contains("the synthetic GPT has none"), "{m}");
    }
}
