//! Makes this crate's test binaries find libtorch at run time (see
//! link_libtorch.rs for why every such package needs this).

#[path = "link_libtorch.rs"]
mod link_libtorch;

fn main() {
    link_libtorch::emit_rpath_when("CARGO_FEATURE_LIBTORCH");
}
