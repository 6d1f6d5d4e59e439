import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// `pull`: downloads a GGUF into the store. Sources: a plain `http(s)://…/model.gguf` URL, or
/// `hf.co/OWNER/REPO[:QUANT]` (Hugging Face, resolved with the Hub's tree API; see HuggingFace.swift).
///
/// The download goes to `partial/<key>.partial` under the store and survives an interruption: the next pull of
/// the same URL asks for the rest with an HTTP `Range` request (RFC 9110 §14), re-hashing the bytes it already
/// has. The file becomes a blob only after its sha256 matches every digest known for it (`--sha256`, the Hub's
/// LFS oid, a digest the server states) and it parses as a GGUF; the manifest comes last. A wrong digest deletes
/// the partial file and installs nothing.
public final class Puller {
    public let store: ModelStore
    /// The Hugging Face base URL (`HF_ENDPOINT`, default https://huggingface.co), without a trailing slash.
    public let hfEndpoint: String
    let token: String?
    let client: HTTPClient

    /// What `pull` reports as it goes.
    public enum Event: Sendable {
        case resolving(String)
        case resolved(file: String, size: Int64?, sha256: String?)
        case resuming(from: Int64)
        case progress(DownloadProgress)
        case verifying
        case usingExisting(digest: String)
        case writingManifest
        case success(ModelName)
    }

    public init(store: ModelStore, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.store = store
        var endpoint = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        hfEndpoint = endpoint
        token = environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        var config = HTTPClient.Configuration(redirectConfiguration: .follow(max: 10, allowCycles: false),
                                              timeout: .init(connect: .seconds(30), read: .seconds(120)))
        config.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    deinit { try? client.syncShutdown() }

    /// Pulls `source` and installs it as `name` (default: derived from the source). Returns the installed name.
    public func pull(_ source: String, name: String? = nil, sha256 expected: String? = nil,
                     report: @escaping @Sendable (Event) -> Void = { _ in }) throws -> ModelName {
        if let e = expected, !(e.utf8.count == 64 && e.allSatisfy(\.isHexDigit)) {
            throw StoreError.invalidSource(source, reason: "--sha256 must be 64 hex digits, got \(quoted(e))")
        }
        store.removeStaleTemporaries()
        let plan = try plan(source, name: name, report: report)
        var digests = [plan.sha256, expected?.lowercased()].compactMap { $0 }
        if Set(digests).count > 1 {
            throw StoreError.digestMismatch(what: source, expected: "sha256:\(digests[1]) (--sha256)", actual: "sha256:\(digests[0]) (stated by the source)")
        }
        report(.resolved(file: plan.url, size: plan.size, sha256: digests.first))

        var modelLayer: Manifest.Layer
        if let d = digests.first, let size = plan.size,
           store.blobIsPresent(Manifest.Layer(mediaType: Manifest.MediaType.model, digest: "sha256:\(d)", size: size)) {
            modelLayer = Manifest.Layer(mediaType: Manifest.MediaType.model, digest: "sha256:\(d)", size: size)
            report(.usingExisting(digest: modelLayer.digest))
        } else {
            let (file, digest, stated) = try download(plan.url, report: report)
            if let s = stated { digests.append(s) }
            report(.verifying)
            for d in digests where d != digest {
                discardPartial(for: plan.url)
                throw StoreError.digestMismatch(what: plan.url, expected: "sha256:\(d)", actual: "sha256:\(digest)")
            }
            do { _ = try store.ggufConfig(file.path) } catch {
                discardPartial(for: plan.url)
                throw StoreError.download(url: plan.url, message: "the download is not a GGUF model (\(error)); nothing was installed")
            }
            let size = try store.fileSize(file.path)
            try store.installVerified(file, digest: "sha256:\(digest)")
            discardPartial(for: plan.url)
            modelLayer = Manifest.Layer(mediaType: Manifest.MediaType.model, digest: "sha256:\(digest)", size: size)
        }
        var cfg = try store.ggufConfig(try store.blobURL(modelLayer.digest).path)
        cfg.rootfs.diffIDs = [modelLayer.digest]
        let config = try store.writeBlob(try encodeJSON(cfg), mediaType: Manifest.configMediaType)
        report(.writingManifest)
        try store.writeManifest(Manifest(config: config, layers: [modelLayer]), for: plan.name)
        report(.success(plan.name))
        return plan.name
    }

    /// Where to download from, what sha256 the source states, and the name to install under.
    struct Plan {
        var url: String
        var size: Int64?
        var sha256: String?
        var name: ModelName
    }

    func plan(_ source: String, name: String?, report: @Sendable (Event) -> Void) throws -> Plan {
        let lower = source.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            guard let url = URL(string: source), let host = url.host, !host.isEmpty else {
                throw StoreError.invalidSource(source, reason: "not a valid URL")
            }
            let file = url.lastPathComponent
            guard file.lowercased().hasSuffix(".gguf") else {
                throw StoreError.invalidSource(source, reason: "the URL must name a .gguf file")
            }
            let target = try name.map { try ModelName(parsing: $0) } ?? Puller.derivedName(file)
            return Plan(url: source, size: nil, sha256: nil, name: target)
        }
        for prefix in ["hf.co/", "huggingface.co/"] where lower.hasPrefix(prefix) {
            let ref = try HuggingFaceRef(parsing: String(source.dropFirst(prefix.count)), source: source)
            report(.resolving(source))
            let file = try resolveHuggingFace(ref)
            let target = try name.map { try ModelName(parsing: $0) } ?? ref.modelName
            return Plan(url: file.url, size: file.size, sha256: file.sha256, name: target)
        }
        throw StoreError.invalidSource(source, reason: "expected https://HOST/PATH/model.gguf or hf.co/OWNER/REPO[:QUANT]")
    }

    /// A store name from a file name: `SmolLM2-135M-Instruct.Q4_1.gguf` → `smollm2-135m-instruct.q4_1:latest`.
    static func derivedName(_ file: String) throws -> ModelName {
        var base = String(file.dropLast(".gguf".count)).lowercased()
        base = String(base.unicodeScalars.map { ModelName.isAlnum($0) || $0 == "." || $0 == "-" || $0 == "_" ? Character($0) : "-" })
        while base.contains("..") { base = base.replacingOccurrences(of: "..", with: ".") }
        base = String(base.drop { !($0.isLetter || $0.isNumber) }.prefix(ModelName.maxPart))
        return try ModelName(model: base.isEmpty ? "model" : base)
    }

    // MARK: Transfer

    func partialURLs(_ url: String) -> (data: URL, meta: URL) {
        let key = String(sha256Hex(Data(url.utf8)).prefix(32))
        return (store.partialDirectory.appendingPathComponent("\(key).partial"),
                store.partialDirectory.appendingPathComponent("\(key).json"))
    }

    /// What is kept beside a partial file: the URL it belongs to and the validator (ETag) of the response it came
    /// from, sent back as `If-Range` so a changed file is not stitched onto old bytes.
    struct PartialMeta: Codable {
        var url: String
        var etag: String?
    }

    func discardPartial(for url: String) {
        let p = partialURLs(url)
        try? FileManager.default.removeItem(at: p.data)
        try? FileManager.default.removeItem(at: p.meta)
    }

    /// Downloads (or finishes downloading) `url` into its partial file. Returns the file, its sha256 hex, and the
    /// sha256 the server stated, if any.
    func download(_ url: String, report: @escaping @Sendable (Event) -> Void) throws -> (URL, String, String?) {
        let paths = partialURLs(url)
        try store.createDirectory(store.partialDirectory)
        var meta = (try? Data(contentsOf: paths.meta)).flatMap { try? JSONDecoder().decode(PartialMeta.self, from: $0) }
        if meta?.url != url { meta = nil }
        if meta == nil || !FileManager.default.fileExists(atPath: paths.data.path) {
            try? FileManager.default.removeItem(at: paths.data)
            guard FileManager.default.createFile(atPath: paths.data.path, contents: nil) else {
                throw StoreError.io(path: paths.data.path, message: "cannot create the partial download")
            }
            meta = PartialMeta(url: url, etag: nil)
            try encodeJSON(meta).write(to: paths.meta)
        }
        let handle: FileHandle
        do { handle = try FileHandle(forUpdating: paths.data) } catch {
            throw StoreError.io(path: paths.data.path, message: "cannot open the partial download: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        // Re-hash what an earlier run left, so the digest covers the whole file.
        var hasher = SHA256()
        var offset: Int64 = 0
        while let chunk = try handle.read(upToCount: ModelStore.chunkSize), !chunk.isEmpty {
            hasher.update(data: chunk)
            offset += Int64(chunk.count)
        }
        if offset > 0 { report(.resuming(from: offset)) }

        var request: HTTPClient.Request
        do { request = try HTTPClient.Request(url: url, method: .GET) } catch {
            throw StoreError.download(url: url, message: "not a URL the HTTP client accepts: \(error)")
        }
        request.headers.add(name: "User-Agent", value: "hearth")
        if let t = token { request.headers.add(name: "Authorization", value: "Bearer \(t)") }
        if offset > 0 {
            request.headers.add(name: "Range", value: "bytes=\(offset)-")
            if let e = meta?.etag { request.headers.add(name: "If-Range", value: e) }
        }
        let delegate = FileDownloadDelegate(url: url, handle: handle, offset: offset, hasher: hasher) { p in
            report(.progress(p))
        }
        var transferError: Error?
        do {
            try client.execute(request: request, delegate: delegate).futureResult.wait()
        } catch {
            transferError = error
        }
        // Keep the validator for the next resume (from the final response, not a redirect).
        if let etag = delegate.seenHeaders.last?.first(name: "etag") {
            meta?.etag = etag
            try? encodeJSON(meta).write(to: paths.meta)
        }
        if let f = delegate.failure {
            // Nothing kept, or the server refuses to continue it (416/412): start clean next time.
            if delegate.done == 0 || delegate.status.code == 416 || delegate.status.code == 412 { discardPartial(for: url) }
            throw f
        }
        if let e = transferError {
            throw StoreError.download(url: url, message: "transfer interrupted after \(delegate.done) of "
                + "\(delegate.total.map(String.init) ?? "?") bytes (\(e)); run the same pull again to resume")
        }
        if let t = delegate.total, delegate.done != t {
            throw StoreError.download(url: url, message: "transfer ended after \(delegate.done) of \(t) bytes; run the same pull again to resume")
        }
        do { try handle.synchronize() } catch {
            throw StoreError.io(path: paths.data.path, message: "fsync failed: \(error.localizedDescription)")
        }
        return (paths.data, hexString(delegate.hasher.finalize()), statedSHA256(delegate.seenHeaders))
    }

    /// GET a small JSON document (the Hub's API), with the token.
    func getJSON(_ url: String) throws -> Data {
        var request: HTTPClient.Request
        do { request = try HTTPClient.Request(url: url, method: .GET) } catch {
            throw StoreError.download(url: url, message: "not a URL the HTTP client accepts: \(error)")
        }
        request.headers.add(name: "User-Agent", value: "hearth")
        request.headers.add(name: "Accept", value: "application/json")
        if let t = token { request.headers.add(name: "Authorization", value: "Bearer \(t)") }
        let response: HTTPClient.Response
        do { response = try client.execute(request: request).wait() } catch {
            throw StoreError.download(url: url, message: "request failed: \(error)")
        }
        var body = response.body ?? ByteBuffer()
        let bytes = body.readBytes(length: body.readableBytes) ?? []
        switch response.status.code {
        case 200: return Data(bytes)
        case 401, 403:
            throw StoreError.download(url: url, message: "HTTP \(response.status.code): access denied (a gated or private repository needs HF_TOKEN)")
        case 404: throw StoreError.download(url: url, message: "HTTP 404: no such repository or revision")
        default: throw StoreError.download(url: url, message: "HTTP \(response.status.code) \(response.status.reasonPhrase)")
        }
    }
}
