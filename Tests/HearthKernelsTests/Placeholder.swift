import XCTest
final class PlaceholderHearthKernelsTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
