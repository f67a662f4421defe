//! Compiles `proto/onnx.proto`, the subset of the ONNX schema inferbench
//! writes and reads, into Rust: protox parses it (pure Rust, so no `protoc`
//! binary is needed) and prost-build generates the message types.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/onnx.proto");
    let descriptors = protox::compile(["onnx.proto"], ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
