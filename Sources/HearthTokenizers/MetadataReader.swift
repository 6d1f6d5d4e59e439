import HearthTensors

/// Typed reads of `tokenizer.ggml.*` metadata with llama.cpp's leniencies (an out-of-range token id keeps the
/// default) and errors that name the key when a value has the wrong kind.
struct MetadataReader {
    let metadata: (String) -> MetadataValue?

    func string(_ key: String) throws -> String? {
        guard let v = metadata(key) else { return nil }
        guard let s = v.stringValue else {
            throw TokenizerError.invalidValue(key: key, expected: "a string", found: Self.describe(v))
        }
        return s
    }

    func stringArray(_ key: String) throws -> [String] {
        guard let v = metadata(key) else { throw TokenizerError.missingKey(key) }
        guard let arr = v.arrayValue else {
            throw TokenizerError.invalidValue(key: key, expected: "a string array", found: Self.describe(v))
        }
        var out: [String] = []
        out.reserveCapacity(arr.count)
        for (i, e) in arr.enumerated() {
            guard let s = e.stringValue else {
                throw TokenizerError.invalidValue(key: "\(key)[\(i)]", expected: "a string", found: Self.describe(e))
            }
            out.append(s)
        }
        return out
    }

    /// `tokenizer.ggml.token_type`: absent gives []; otherwise at least `count` int32 entries.
    func tokenTypes(count: Int) throws -> [Int32] {
        let key = "tokenizer.ggml.token_type"
        guard let v = metadata(key) else { return [] }
        guard let arr = v.arrayValue else {
            throw TokenizerError.invalidValue(key: key, expected: "an int32 array", found: Self.describe(v))
        }
        var types: [Int32] = []
        types.reserveCapacity(arr.count)
        for (i, e) in arr.enumerated() {
            guard let t = e.intValue, let t32 = Int32(exactly: t) else {
                throw TokenizerError.invalidValue(key: "\(key)[\(i)]", expected: "an int32", found: Self.describe(e))
            }
            types.append(t32)
        }
        guard types.count >= count else {
            throw TokenizerError.invalidValue(key: key, expected: "\(count) entries (one per token)",
                                              found: "\(types.count)")
        }
        return types
    }

    /// `tokenizer.ggml.scores`: absent gives all zero; otherwise at least `count` numbers.
    func scores(count: Int) throws -> [Float] {
        let key = "tokenizer.ggml.scores"
        guard let v = metadata(key) else { return [Float](repeating: 0, count: count) }
        guard let arr = v.arrayValue else {
            throw TokenizerError.invalidValue(key: key, expected: "a float32 array", found: Self.describe(v))
        }
        guard arr.count >= count else {
            throw TokenizerError.invalidValue(key: key, expected: "\(count) entries (one per token)",
                                              found: "\(arr.count)")
        }
        var out: [Float] = []
        out.reserveCapacity(count)
        for (i, e) in arr.prefix(count).enumerated() {
            switch e {
            case .float32(let f): out.append(f)
            case .float64(let f): out.append(Float(f))
            default:
                guard let n = e.intValue else {
                    throw TokenizerError.invalidValue(key: "\(key)[\(i)]", expected: "a number", found: Self.describe(e))
                }
                out.append(Float(n))
            }
        }
        return out
    }

    /// A token id: the metadata value if it lies in `0..<vocabSize`, else the default (itself dropped when out of
    /// range), as llama.cpp does.
    func tokenId(_ key: String, default def: Int32?, vocabSize n: Int) throws -> Int32? {
        var value = def.flatMap { $0 >= 0 && Int($0) < n ? $0 : nil }
        if let v = metadata(key) {
            var isBool = false
            if case .bool = v { isBool = true }
            guard let i = v.intValue, !isBool else {
                throw TokenizerError.invalidValue(key: key, expected: "an integer token id", found: Self.describe(v))
            }
            if i >= 0 && i < n { value = Int32(i) }  // out of range: llama.cpp keeps the default
        }
        return value
    }

    func flag(_ key: String, default def: Bool) throws -> Bool {
        guard let v = metadata(key) else { return def }
        if case .bool(let b) = v { return b }
        guard let i = v.intValue else {
            throw TokenizerError.invalidValue(key: key, expected: "a bool", found: Self.describe(v))
        }
        return i != 0
    }

    static func describe(_ v: MetadataValue) -> String {
        switch v {
        case .string(let s): return "string \"\(s.prefix(40))\""
        case .array(let a): return "array of \(a.count)"
        case .bool(let b): return "bool \(b)"
        case .float32(let f): return "float \(f)"
        case .float64(let f): return "double \(f)"
        default: return "integer \(v.intValue.map(String.init) ?? "?")"
        }
    }
}
