//! Build-script code shared by backends/tch/build.rs and harness/build.rs
//! (each includes this file with `#[path]`): makes the binaries of the
//! including package find libtorch at run time.
//!
//! torch-sys links libtorch, but its `-Wl,-rpath` reaches only its own C++
//! shim, not the final binaries, and `cargo:rustc-link-arg` from a build
//! script applies only to the package that prints it. So every package
//! whose binaries (including test binaries) link libtorch repeats these
//! arguments. `--no-as-needed -ltorch` keeps libtorch in the binary's
//! DT_NEEDED although no symbol is used from it directly: with a full CUDA
//! libtorch it is what pulls in libtorch_cuda. The package must depend on
//! torch-sys (`links = "tch"`) to be given DEP_TCH_LIBTORCH_LIB.

/// Prints the link arguments when the cargo feature behind `feature_env`
/// (e.g. `CARGO_FEATURE_TCH`) is on; without it libtorch is not linked.
pub fn emit_rpath_when(feature_env: &str) {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if std::env::var_os(feature_env).is_none() {
        return;
    }
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .expect("torch-sys (links = \"tch\") sets DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rustc-link-arg=-Wl,-rpath={lib}");
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch");
}
