//! With the `libtorch` feature: compiles the inference-mode shim
//! (cpp/inference_mode.cpp) against libtorch's headers, and makes this
//! crate's test binaries find libtorch at run time (see link_libtorch.rs
//! for why every such package needs that).

#[path = "link_libtorch.rs"]
mod link_libtorch;

fn main() {
    link_libtorch::emit_rpath_when("CARGO_FEATURE_LIBTORCH");
    if std::env::var_os("CARGO_FEATURE_LIBTORCH").is_some() {
        compile_inference_mode_shim();
    }
}

#[cfg(feature = "libtorch")]
fn compile_inference_mode_shim() {
    println!("cargo:rerun-if-changed=cpp/inference_mode.cpp");
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .expect("torch-sys (links = \"tch\") sets DEP_TCH_LIBTORCH_LIB");
    // Both libtorch layouts (a libtorch folder, a Python torch package)
    // keep `include/` next to `lib/`. Same ABI flag as torch-sys's shim.
    let include = std::path::Path::new(&lib).join("../include");
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(include)
        .flag("-std=c++17")
        .flag("-D_GLIBCXX_USE_CXX11_ABI=1")
        .file("cpp/inference_mode.cpp")
        .compile("inferbench_tch_shim");
}

#[cfg(not(feature = "libtorch"))]
fn compile_inference_mode_shim() {}
