import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Progress of one download, for a progress bar: bytes so far (including what a resumed transfer already had),
/// the total when the server says it, and the rate of this run.
public struct DownloadProgress: Sendable {
    public var done: Int64
    public var total: Int64?
    /// Bytes per second since this run started (resumed bytes not counted).
    public var bytesPerSecond: Double
    /// Seconds left at the current rate, when the total is known.
    public var eta: Double? {
        guard let t = total, bytesPerSecond > 0 else { return nil }
        return Double(max(t - done, 0)) / bytesPerSecond
    }
    /// Set once when a partial file is picked up again.
    public var resumedFrom: Int64
}

/// Streams an HTTP response body to a partial file while hashing it (RFC 9110 range requests: a `206` continues
/// the partial file from its end, a `200` starts it over). Lives on the client's event loop; the owner reads its
/// state only after the request's future has completed.
final class FileDownloadDelegate: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = Void

    let url: String
    let handle: FileHandle
    let offset: Int64
    var hasher: SHA256
    var done: Int64
    var total: Int64?
    var status: HTTPResponseStatus = .ok
    /// Headers of every response on the way (redirects included): HF states the sha256 on the redirect.
    var seenHeaders: [HTTPHeaders] = []
    var failure: StoreError?
    let started = Date()
    let progress: @Sendable (DownloadProgress) -> Void
    var lastReport = Date(timeIntervalSince1970: 0)

    init(url: String, handle: FileHandle, offset: Int64, hasher: SHA256, progress: @escaping @Sendable (DownloadProgress) -> Void) {
        self.url = url
        self.handle = handle
        self.offset = offset
        self.hasher = hasher
        self.done = offset
        self.progress = progress
    }

    func didVisitURL(task: HTTPClient.Task<Void>, _ request: HTTPClient.Request, _ head: HTTPResponseHead) {
        seenHeaders.append(head.headers)
    }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        status = head.status
        seenHeaders.append(head.headers)
        switch head.status.code {
        case 206:
            // Content-Range: bytes START-END/TOTAL (RFC 9110 §14.4); START must be where our file ends.
            let range = head.headers.first(name: "content-range") ?? ""
            let parsed = FileDownloadDelegate.parseContentRange(range)
            guard let p = parsed, p.start == offset else {
                failure = .download(url: url, message: "the server resumed at the wrong place (Content-Range \(quoted(range)), expected start \(offset))")
                return task.eventLoop.makeFailedFuture(failure!)
            }
            total = p.total
        case 200:
            if offset > 0 {
                // The server ignored the range: start the file over.
                do {
                    try handle.truncate(atOffset: 0)
                } catch {
                    failure = .io(path: url, message: "cannot restart the partial file: \(error)")
                    return task.eventLoop.makeFailedFuture(failure!)
                }
                hasher = SHA256()
                done = 0
            }
            total = head.headers.first(name: "content-length").flatMap { Int64($0) }
        default:
            failure = .download(url: url, message: "HTTP \(head.status.code) \(head.status.reasonPhrase)")
            return task.eventLoop.makeFailedFuture(failure!)
        }
        report(force: true)
        return task.eventLoop.makeSucceededFuture(())
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let written: Result<Void, Error> = buffer.withUnsafeReadableBytes { raw in
            hasher.update(bufferPointer: raw)
            return Result { try handle.write(contentsOf: Data(raw)) }
        }
        if case .failure(let e) = written {
            failure = .io(path: url, message: "cannot write the partial download: \(e.localizedDescription)")
            return task.eventLoop.makeFailedFuture(failure!)
        }
        done += Int64(buffer.readableBytes)
        report(force: false)
        return task.eventLoop.makeSucceededFuture(())
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        report(force: true)
    }

    func report(force: Bool) {
        let now = Date()
        guard force || now.timeIntervalSince(lastReport) >= 0.1 else { return }
        lastReport = now
        let elapsed = max(now.timeIntervalSince(started), 1e-3)
        progress(DownloadProgress(done: done, total: total, bytesPerSecond: Double(done - offset) / elapsed, resumedFrom: offset))
    }

    /// `bytes START-END/TOTAL` → (START, TOTAL or nil for `*`).
    static func parseContentRange(_ s: String) -> (start: Int64, total: Int64?)? {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard t.lowercased().hasPrefix("bytes ") else { return nil }
        let spec = t.dropFirst(6)
        let halves = spec.split(separator: "/", maxSplits: 1)
        guard halves.count == 2, let dash = halves[0].firstIndex(of: "-"),
              let start = Int64(halves[0][..<dash].trimmingCharacters(in: .whitespaces)) else { return nil }
        return (start, Int64(halves[1]))
    }
}

/// A sha256 a server states for what it sends: Hugging Face's `X-Linked-Etag` (or `ETag`) holds the LFS object's
/// sha256 in quotes. Anything that is not 64 hex digits (an MD5 ETag, say) is no digest.
func statedSHA256(_ headers: [HTTPHeaders]) -> String? {
    for h in headers {
        for field in ["x-linked-etag", "etag"] {
            guard var v = h.first(name: field)?.trimmingCharacters(in: .whitespaces) else { continue }
            if v.hasPrefix("W/") { v.removeFirst(2) }
            v = v.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            if v.utf8.count == 64, v.allSatisfy(\.isHexDigit) { return v.lowercased() }
        }
    }
    return nil
}
