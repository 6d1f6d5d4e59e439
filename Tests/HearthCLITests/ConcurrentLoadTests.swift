import Foundation
import XCTest

/// Eight clients that hit a fresh server at once must share one load of the model: the provider's load is
/// registered before its first suspension, so concurrent first requests wait for it instead of each loading
/// (and unloading) their own copy under the others' streams ("the model was unloaded before the request finished").
final class ConcurrentLoadTests: XCTestCase {
    static let script = #"""
import sys, threading, openai
url, model = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
results, errors = {}, []
def run(i):
    try:
        r = client.completions.create(model=model, prompt=f"Count to {i + 3}:", max_tokens=8, temperature=0)
        results[i] = r.choices[0].text
    except Exception as e:
        errors.append(f"client {i}: {e}")
threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
for t in threads: t.start()
for t in threads: t.join()
assert not errors, errors
assert len(results) == 8, results
print("ok")
"""#

    func testEightFirstRequestsShareOneLoad() throws {
        let server = try ServerFixture.start()
        defer { server.stop() }
        let out = try CLI.clientScript(Self.script, [server.url, ServerFixture.model])
        XCTAssertTrue(out.hasSuffix("ok\n"), out)
        // One load: /api/ps lists the model once.
        let ps = try CLI.clientScript("""
            import json, sys, urllib.request
            print(len(json.load(urllib.request.urlopen(sys.argv[1] + "/api/ps"))["models"]))
            """, [server.url])
        XCTAssertEqual(ps.trimmingCharacters(in: .whitespacesAndNewlines), "1")
    }
}
