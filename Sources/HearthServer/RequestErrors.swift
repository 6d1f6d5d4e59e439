import Foundation

// No Hummingbird here, so that scripts/fuzz can build this file for its `server-request` harness (OllamaBodies.swift
// says which files are kept so, and why).

/// Errors a route answers with, mapped to the HTTP status each API uses (Ollama: 404 for an unknown model, 400
/// for bad input; 503 + Retry-After when the wait queue is full).
public enum ServerError: Error, CustomStringConvertible {
    case badRequest(String)
    case modelNotFound(String)
    case loadFailed(path: String, reason: String)
    case notSupported(String)
    /// Every loaded model is busy and no other may load now (503).
    case busy(String)
    /// The model's weights + KV cache estimate does not fit in available memory.
    case insufficientMemory(String)
    /// Any other failure, its message as it is (500).
    case failed(String)

    public var description: String {
        switch self {
        case .badRequest(let m): return m
        case .modelNotFound(let n): return "model '\(n)' not found (see /api/tags; pull or create it, or give a .gguf path)"
        case .loadFailed(let p, let r): return "cannot load \(p): \(r)"
        case .notSupported(let m): return "\(m) is not supported yet"
        case .busy(let m), .insufficientMemory(let m), .failed(let m): return m
        }
    }
}

/// A decoding error as "field a.b: expected …".
func describe(_ e: DecodingError) -> String {
    func path(_ c: [CodingKey]) -> String {
        c.isEmpty ? "the body" : "field '" + c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") + "'"
    }
    switch e {
    case .typeMismatch(let t, let c): return "\(path(c.codingPath)): expected \(t)"
    case .valueNotFound(let t, let c): return "\(path(c.codingPath)): expected \(t), found null"
    case .keyNotFound(let k, let c): return "\(path(c.codingPath + [k])) is required"
    case .dataCorrupted(let c):
        return c.codingPath.isEmpty ? "not valid JSON (\(c.debugDescription))" : "\(path(c.codingPath)): \(c.debugDescription)"
    @unknown default: return "\(e)"
    }
}
