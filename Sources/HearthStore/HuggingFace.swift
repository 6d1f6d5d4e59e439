import Foundation

/// `hf.co/OWNER/REPO[:QUANT]`, as Ollama names Hugging Face GGUF repositories.
struct HuggingFaceRef {
    var owner: String
    var repo: String
    var quant: String?

    init(parsing text: String, source: String) throws {
        var rest = Substring(text)
        if let colon = rest.lastIndex(of: ":") {
            quant = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
            if quant?.isEmpty == true { throw StoreError.invalidSource(source, reason: "empty quantization after ':'") }
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw StoreError.invalidSource(source, reason: "expected hf.co/OWNER/REPO[:QUANT]")
        }
        owner = String(parts[0])
        repo = String(parts[1])
        do { _ = try modelName } catch {
            throw StoreError.invalidSource(source, reason: "\(error)")
        }
    }

    /// The store name Ollama gives such a pull: `hf.co/owner/repo:QUANT` (tag `latest` without a quant).
    var modelName: ModelName {
        get throws { try ModelName(host: "hf.co", namespace: owner, model: repo, tag: quant ?? ModelName.defaultTag) }
    }
}

/// One entry of the Hub's tree listing (`GET /api/models/OWNER/REPO/tree/main`): a path, its size, and for LFS
/// files the object's sha256 (`lfs.oid`).
struct HubTreeEntry: Decodable {
    var type: String?
    var path: String
    var size: Int64?
    var lfs: LFS?
    struct LFS: Decodable {
        var oid: String
        var size: Int64?
    }
}

extension Puller {
    /// The file to download for a reference: URL, size and sha256.
    struct HubFile {
        var url: String
        var size: Int64?
        var sha256: String?
    }

    /// Lists the repository and picks the GGUF for the quant (default `Q4_K_M`, else the only or first GGUF).
    func resolveHuggingFace(_ ref: HuggingFaceRef) throws -> HubFile {
        let repoPath = "\(Puller.escape(ref.owner))/\(Puller.escape(ref.repo))"
        let listURL = "\(hfEndpoint)/api/models/\(repoPath)/tree/main?recursive=true"
        let entries: [HubTreeEntry]
        do { entries = try JSONDecoder().decode([HubTreeEntry].self, from: try getJSON(listURL)) } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError.download(url: listURL, message: "not the Hub's tree listing (a JSON array of {path, size, lfs}): \(error)")
        }
        let ggufs = entries.filter { $0.type != "directory" && $0.path.lowercased().hasSuffix(".gguf") }
        let file = try Puller.pickGGUF(ggufs.map(\.path), quant: ref.quant, repo: "\(ref.owner)/\(ref.repo)")
        guard let entry = ggufs.first(where: { $0.path == file }) else {
            throw StoreError.download(url: listURL, message: "internal: picked file \(quoted(file)) is not listed")
        }
        var sha: String?
        if let oid = entry.lfs?.oid {
            let hex = oid.hasPrefix("sha256:") ? String(oid.dropFirst(7)) : oid
            guard hex.utf8.count == 64, hex.allSatisfy(\.isHexDigit) else {
                throw StoreError.download(url: listURL, message: "lfs.oid of \(quoted(file)) is not a sha256: \(quoted(oid))")
            }
            sha = hex.lowercased()
        }
        let path = file.split(separator: "/").map { Puller.escape(String($0)) }.joined(separator: "/")
        return HubFile(url: "\(hfEndpoint)/\(repoPath)/resolve/main/\(path)", size: entry.lfs?.size ?? entry.size, sha256: sha)
    }

    /// Chooses among a repository's GGUF paths: the one whose file name holds `quant` (case-insensitive; a match
    /// bounded by non-alphanumerics wins, so `Q4_K` picks `…Q4_K.gguf` over `…Q4_K_M.gguf`); without a quant
    /// `Q4_K_M`, else the first. Projector files (`mmproj`) are never the model.
    static func pickGGUF(_ paths: [String], quant: String?, repo: String) throws -> String {
        let models = paths.filter { !($0.split(separator: "/").last ?? "").lowercased().contains("mmproj") }.sorted()
        guard !models.isEmpty else { throw StoreError.invalidSource("hf.co/\(repo)", reason: "the repository has no .gguf file") }
        func matches(_ q: String) -> [String] {
            let needle = q.uppercased()
            let hits = models.filter { ($0.split(separator: "/").last.map(String.init) ?? $0).uppercased().contains(needle) }
            let bounded = hits.filter { path in
                let name = (path.split(separator: "/").last.map(String.init) ?? path).uppercased()
                guard let r = name.range(of: needle) else { return false }
                let before = r.lowerBound == name.startIndex ? nil : name[name.index(before: r.lowerBound)]
                let after = r.upperBound == name.endIndex ? nil : name[r.upperBound]
                func edge(_ c: Character?) -> Bool { c.map { !($0.isLetter || $0.isNumber || $0 == "_") } ?? true }
                return edge(before) && edge(after)
            }
            return bounded.isEmpty ? hits : bounded
        }
        if let q = quant {
            guard let hit = matches(q).first else {
                throw StoreError.invalidSource("hf.co/\(repo):\(q)", reason: "no .gguf file for quantization \(q) (files: \(models.joined(separator: ", ")))")
            }
            return hit
        }
        return matches("Q4_K_M").first ?? models[0]
    }

    /// Percent-encodes one path segment (RFC 3986 unreserved characters stay).
    static func escape(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}
