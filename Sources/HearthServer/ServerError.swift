import Foundation
import HearthEngine
import Hummingbird

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

func jsonResponse(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"],
             body: ResponseBody(byteBuffer: ByteBuffer(bytes: jsonBytes(object))))
}
