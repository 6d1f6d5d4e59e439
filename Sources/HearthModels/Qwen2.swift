import HearthKernels
import HearthTensors

/// The qwen2 architecture (Qwen2 / Qwen2.5, incl. Qwen2.5-Coder), as llama.cpp builds it (src/models/qwen2.cpp):
/// the llama graph with F32 biases added after the Q/K/V projections, "neox" RoPE (value i rotates with
/// i + d/2; base from `qwen2.rope.freq_base`), metadata under `qwen2.`, and an output projection that may be
/// tied to the embedding (optionally with `output.bias`). So it is `LlamaModel` with these options.
public enum Qwen2 {
    public static let options = DecoderOptions(architecture: "qwen2", rope: .neox, qkvBias: true)

    public static func load(source: WeightSource, pool: ThreadPool) throws -> LlamaModel {
        try LlamaModel(source: source, pool: pool, options: options)
    }
}
