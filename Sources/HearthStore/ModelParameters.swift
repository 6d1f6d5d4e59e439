import Foundation

/// The Modelfile `PARAMETER`s Hearth understands, typed. Stored as Ollama's params layer: one JSON object with the
/// parameter names as keys, `stop` as an array of strings (Ollama's `api.Options` JSON names).
public struct ModelParameters: Codable, Equatable, Sendable {
    public var numCtx: Int?
    public var temperature: Float?
    public var topK: Int?
    public var topP: Float?
    public var minP: Float?
    public var seed: Int?
    public var stop: [String]?
    public var numPredict: Int?
    public var repeatPenalty: Float?
    public var repeatLastN: Int?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case numCtx = "num_ctx", temperature, topK = "top_k", topP = "top_p", minP = "min_p", seed, stop
        case numPredict = "num_predict", repeatPenalty = "repeat_penalty", repeatLastN = "repeat_last_n"
    }

    /// Every parameter name accepted, in Ollama's spelling.
    public static let names: [String] = CodingKeys.allCases.map(\.rawValue)

    public var isEmpty: Bool { self == ModelParameters() }

    /// Sets one parameter from its text, checking type and range. `stop` appends (it may repeat).
    /// Throws a message (the caller adds file and line).
    public mutating func set(_ name: String, _ text: String) throws(ParameterError) {
        func int(_ min: Int) throws(ParameterError) -> Int {
            guard let v = Int(text) else { throw ParameterError("\(name): \(quoted(text)) is not an integer") }
            guard v >= min else { throw ParameterError("\(name): \(v) is below the minimum \(min)") }
            return v
        }
        func float(_ range: ClosedRange<Float>, open: Bool = false) throws(ParameterError) -> Float {
            guard let v = Float(text), v.isFinite else { throw ParameterError("\(name): \(quoted(text)) is not a number") }
            guard range.contains(v), !(open && v == range.lowerBound) else {
                let lower = open ? "(\(range.lowerBound)" : "[\(range.lowerBound)"
                throw ParameterError("\(name): \(text) is outside \(lower), \(range.upperBound)]")
            }
            return v
        }
        switch name.lowercased() {
        case "num_ctx": numCtx = try int(1)
        case "temperature": temperature = try float(0...Float.greatestFiniteMagnitude)
        case "top_k": topK = try int(0)
        case "top_p": topP = try float(0...1, open: true)
        case "min_p": minP = try float(0...1)
        case "seed": seed = try int(-1)
        case "stop":
            guard !text.isEmpty else { throw ParameterError("stop: the stop sequence is empty") }
            stop = (stop ?? []) + [text]
        case "num_predict": numPredict = try int(-2)
        case "repeat_penalty": repeatPenalty = try float(0...Float.greatestFiniteMagnitude)
        case "repeat_last_n": repeatLastN = try int(-1)
        default:
            throw ParameterError("unknown parameter \(quoted(name)) (expected one of: \(ModelParameters.names.joined(separator: ", ")))")
        }
    }

    /// `name value` pairs as a Modelfile writes them (`stop` once per sequence), in a fixed order.
    public var pairs: [(String, String)] {
        var out: [(String, String)] = []
        func f(_ v: Float) -> String { v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : "\(v)" }
        if let v = numCtx { out.append(("num_ctx", "\(v)")) }
        if let v = numPredict { out.append(("num_predict", "\(v)")) }
        if let v = temperature { out.append(("temperature", f(v))) }
        if let v = topK { out.append(("top_k", "\(v)")) }
        if let v = topP { out.append(("top_p", f(v))) }
        if let v = minP { out.append(("min_p", f(v))) }
        if let v = repeatPenalty { out.append(("repeat_penalty", f(v))) }
        if let v = repeatLastN { out.append(("repeat_last_n", "\(v)")) }
        if let v = seed { out.append(("seed", "\(v)")) }
        for s in stop ?? [] { out.append(("stop", s)) }
        return out
    }

    /// `other`'s parameters over these (a derived model's Modelfile over its base's).
    public func merging(_ other: ModelParameters) -> ModelParameters {
        var m = self
        if let v = other.numCtx { m.numCtx = v }
        if let v = other.temperature { m.temperature = v }
        if let v = other.topK { m.topK = v }
        if let v = other.topP { m.topP = v }
        if let v = other.minP { m.minP = v }
        if let v = other.seed { m.seed = v }
        if let v = other.stop { m.stop = v }
        if let v = other.numPredict { m.numPredict = v }
        if let v = other.repeatPenalty { m.repeatPenalty = v }
        if let v = other.repeatLastN { m.repeatLastN = v }
        return m
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// A bad parameter value; the message names the parameter and says what was expected.
public struct ParameterError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}
