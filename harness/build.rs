//! With the `tch` feature, makes the `inferbench` binary and its test
//! binaries find libtorch at run time (see backends/tch/link_libtorch.rs).

#[path = "../backends/tch/link_libtorch.rs"]
mod link_libtorch;

fn main() {
    link_libtorch::emit_rpath_when("CARGO_FEATURE_TCH");
}
