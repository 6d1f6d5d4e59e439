import HearthTensors

/// Typed metadata getters for model loaders.
///
/// Loaders need "this key, as an Int, or a clear error" far more often than a raw `MetadataValue`. The
/// non-optional getters throw `GGUFError` (`.missingKey` or `.typeMismatch`) naming the file, key and the
/// byte offset of the value; the `…IfPresent` variants return nil for a missing key but still throw for a
/// value of the wrong type, because a wrongly typed hyperparameter is a broken file, not an absent option.
///
/// Integer getters accept any GGUF integer type (converters disagree on uint32 vs int32 vs uint64); float
/// getters accept floats and integers; bools are not numbers here.
extension GGUFFile {
    public func int(_ key: String) throws(GGUFError) -> Int { try require(key, intIfPresent(key)) }
    public func intIfPresent(_ key: String) throws(GGUFError) -> Int? {
        try convert(key, "an integer") { v in
            if case .bool = v { return nil }
            return v.intValue
        }
    }

    public func float(_ key: String) throws(GGUFError) -> Float { try require(key, floatIfPresent(key)) }
    public func floatIfPresent(_ key: String) throws(GGUFError) -> Float? {
        try doubleIfPresent(key).map { Float($0) }
    }

    public func double(_ key: String) throws(GGUFError) -> Double { try require(key, doubleIfPresent(key)) }
    public func doubleIfPresent(_ key: String) throws(GGUFError) -> Double? {
        try convert(key, "a number") { v in
            if case .bool = v { return nil }
            return v.doubleValue
        }
    }

    public func bool(_ key: String) throws(GGUFError) -> Bool { try require(key, boolIfPresent(key)) }
    public func boolIfPresent(_ key: String) throws(GGUFError) -> Bool? {
        try convert(key, "a bool") { v in
            if case .bool(let b) = v { return b }
            return nil
        }
    }

    public func string(_ key: String) throws(GGUFError) -> String { try require(key, stringIfPresent(key)) }
    public func stringIfPresent(_ key: String) throws(GGUFError) -> String? {
        try convert(key, "a string") { $0.stringValue }
    }

    /// The raw elements of an array value.
    public func array(_ key: String) throws(GGUFError) -> [MetadataValue] { try require(key, arrayIfPresent(key)) }
    public func arrayIfPresent(_ key: String) throws(GGUFError) -> [MetadataValue]? {
        try convert(key, "an array") { $0.arrayValue }
    }

    /// An array of strings (e.g. `tokenizer.ggml.tokens`, `tokenizer.ggml.merges`).
    public func stringArray(_ key: String) throws(GGUFError) -> [String] { try require(key, stringArrayIfPresent(key)) }
    public func stringArrayIfPresent(_ key: String) throws(GGUFError) -> [String]? {
        try convert(key, "an array of strings") { v in
            guard case .array(let a) = v else { return nil }
            var out: [String] = []
            out.reserveCapacity(a.count)
            for e in a {
                guard case .string(let s) = e else { return nil }
                out.append(s)
            }
            return out
        }
    }

    /// An array of integers of any GGUF integer type (e.g. `tokenizer.ggml.token_type`).
    public func intArray(_ key: String) throws(GGUFError) -> [Int] { try require(key, intArrayIfPresent(key)) }
    public func intArrayIfPresent(_ key: String) throws(GGUFError) -> [Int]? {
        try convert(key, "an array of integers") { v in
            guard case .array(let a) = v else { return nil }
            var out: [Int] = []
            out.reserveCapacity(a.count)
            for e in a {
                if case .bool = e { return nil }
                guard let i = e.intValue else { return nil }
                out.append(i)
            }
            return out
        }
    }

    /// An array of numbers as Float (e.g. `tokenizer.ggml.scores`).
    public func floatArray(_ key: String) throws(GGUFError) -> [Float] { try require(key, floatArrayIfPresent(key)) }
    public func floatArrayIfPresent(_ key: String) throws(GGUFError) -> [Float]? {
        try convert(key, "an array of numbers") { v in
            guard case .array(let a) = v else { return nil }
            var out: [Float] = []
            out.reserveCapacity(a.count)
            for e in a {
                if case .bool = e { return nil }
                switch e {
                case .float32(let f): out.append(f)
                default:
                    guard let d = e.doubleValue else { return nil }
                    out.append(Float(d))
                }
            }
            return out
        }
    }

    // MARK: - helpers

    private func require<T>(_ key: String, _ value: T?) throws(GGUFError) -> T {
        guard let value else {
            throw GGUFError(.missingKey, path: path, offset: nil, field: "metadata key '\(key)'",
                            message: "key is missing; the model needs it")
        }
        return value
    }

    private func convert<T>(_ key: String, _ expected: String,
                            _ body: (MetadataValue) -> T?) throws(GGUFError) -> T? {
        guard let v = metadata(key) else { return nil }
        guard let out = body(v) else {
            throw GGUFError(.typeMismatch, path: path, offset: metadataValueOffset(key),
                            field: "metadata key '\(key)'",
                            message: "value is \(GGUFFile.describe(v)); expected \(expected)")
        }
        return out
    }

    /// A short description of a value's type for error messages ("uint32 7", "array of 49152 string").
    static func describe(_ v: MetadataValue) -> String {
        switch v {
        case .array(let a):
            guard let first = a.first else { return "an empty array" }
            return "an array of \(a.count) \(GGUFValueType(of: first).name)"
        case .string(let s): return "string \"\(s.prefix(40))\""
        default: return "\(GGUFValueType(of: v).name) \(v)"
        }
    }
}
