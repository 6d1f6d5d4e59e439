import Foundation
import HearthEngine
import Hummingbird

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

/// Which API's error shape to answer in.
enum APIStyle {
    case ollama
    case openAI
}

/// Status, message and OpenAI type for an error thrown while serving a request.
func classify(_ error: Error) -> (status: HTTPResponse.Status, message: String, type: String) {
    switch error {
    case let e as ServerError:
        switch e {
        case .badRequest, .notSupported: return (.badRequest, e.description, "invalid_request_error")
        case .modelNotFound: return (.notFound, e.description, "not_found_error")
        case .loadFailed, .insufficientMemory, .failed: return (.internalServerError, e.description, "server_error")
        case .busy: return (.serviceUnavailable, e.description, "server_busy")
        }
    case let e as SchedulerError:
        switch e {
        case .queueFull: return (.serviceUnavailable, e.description, "server_busy")
        case .promptTooLong, .invalidRequest: return (.badRequest, e.description, "invalid_request_error")
        case .shutDown, .failed: return (.internalServerError, e.description, "server_error")
        }
    case let e as DecodingError:
        return (.badRequest, "invalid request body: \(describe(e))", "invalid_request_error")
    case is CancellationError:
        // The client went away (CancelOnClientGoneMiddleware): nginx's 499, for the log line; nobody reads it.
        return (HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request"), "the client closed the connection",
                "client_closed")
    default:
        return (.internalServerError, "\(error)", "server_error")
    }
}

/// A JSON error response in the API's shape; 503 carries Retry-After.
func errorResponse(_ error: Error, style: APIStyle) -> Response {
    let (status, message, type) = classify(error)
    let body: [String: Any]
    switch style {
    case .ollama: body = ["error": message]
    case .openAI: body = ["error": ["message": message, "type": type, "code": NSNull()]]
    }
    var headers: HTTPFields = [.contentType: "application/json"]
    if status == .serviceUnavailable { headers[.retryAfter] = "1" }
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: jsonBytes(body))))
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

func jsonBytes(_ object: Any) -> [UInt8] {
    (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])).map { Array($0) }
        ?? Array("{}".utf8)
}

func jsonResponse(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"],
             body: ResponseBody(byteBuffer: ByteBuffer(bytes: jsonBytes(object))))
}
