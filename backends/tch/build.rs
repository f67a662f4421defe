//! Makes this crate's test binaries find libtorch at run time.
//!
//! torch-sys links libtorch but its `-Wl,-rpath` reaches only its own C++
//! shim, not the final binaries, and `cargo:rustc-link-arg` from a build
//! script applies only to the package that prints it. So every package that
//! produces binaries linking libtorch repeats these arguments: this crate
//! (its unit tests) and the harness (the `inferbench` binary and its tests,
//! see harness/build.rs). `--no-as-needed -ltorch` keeps libtorch in the
//! binary's DT_NEEDED even though no symbol is used from it directly: with a
//! full CUDA libtorch it is what pulls in libtorch_cuda.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if std::env::var_os("CARGO_FEATURE_LIBTORCH").is_none() {
        return;
    }
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .expect("torch-sys (links = \"tch\") sets DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rustc-link-arg=-Wl,-rpath={lib}");
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch");
}
