//! With the `tch` feature, makes the `inferbench` binary and its test
//! binaries find libtorch at run time: torch-sys's own rpath does not reach
//! dependents and a build script's link args apply only to its own package,
//! so this repeats what backends/tch/build.rs does (the reasons are there).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if std::env::var_os("CARGO_FEATURE_TCH").is_none() {
        return;
    }
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .expect("torch-sys (links = \"tch\") sets DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rustc-link-arg=-Wl,-rpath={lib}");
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch");
}
