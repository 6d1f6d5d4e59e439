import XCTest
final class PlaceholderHearthCLITests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
