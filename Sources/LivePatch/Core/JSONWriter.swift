internal import CLivePatchShim

// A JSON writer into bytes: no Foundation and no String formatting, since
// the engine builds as Embedded Swift.

struct JSONWriter {
    var out: [UInt8] = []
    /// Whether the object or array being written already has a member.
    var hasMember: [Bool] = []

    mutating func raw(_ s: StaticString) {
        for i in 0..<s.utf8CodeUnitCount { out.append(s.utf8Start[i]) }
    }

    mutating func open(_ bracket: StaticString) {
        raw(bracket)
        hasMember.append(false)
    }

    mutating func close(_ bracket: StaticString) {
        hasMember.removeLast()
        raw(bracket)
    }

    /// Starts a member: a comma if one came before, then `"key": ` (or
    /// nothing more for an array element, key nil).
    mutating func member(_ key: StaticString?) {
        if hasMember[hasMember.count - 1] { raw(", ") }
        hasMember[hasMember.count - 1] = true
        if let key {
            raw("\"")
            raw(key)
            raw("\": ")
        }
    }

    mutating func number(_ v: UInt64) {
        var digits: [UInt8] = []
        var x = v
        repeat {
            digits.append(UInt8(48 + x % 10))
            x /= 10
        } while x != 0
        out.append(contentsOf: digits.reversed())
    }

    mutating func number(_ v: Int64) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        number(v.magnitude)
    }

    /// A string from bytes up to the first NUL. Quotes, backslashes and
    /// control characters are escaped, and so is every non-ASCII byte (as
    /// U+0080..U+00FF), so that the document is valid UTF-8 JSON whatever
    /// the bytes are.
    mutating func string(_ bytes: UnsafeRawBufferPointer) {
        let hex: StaticString = "0123456789abcdef"
        out.append(UInt8(ascii: "\""))
        for b in bytes {
            if b == 0 { break }
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                out.append(UInt8(ascii: "\\"))
                out.append(b)
            } else if b < 0x20 || b >= 0x7f {
                raw("\\u00")
                out.append(hex.utf8Start[Int(b >> 4)])
                out.append(hex.utf8Start[Int(b & 15)])
            } else {
                out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    mutating func string(cString p: UnsafePointer<CChar>) {
        var n = 0
        while p[n] != 0 { n += 1 }
        string(UnsafeRawBufferPointer(start: p, count: n))
    }

    mutating func field(_ key: StaticString, _ v: UInt64) { member(key); number(v) }
    mutating func field(_ key: StaticString, _ v: Int64) { member(key); number(v) }
    mutating func field(_ key: StaticString, _ v: StaticString) { member(key); raw("\""); raw(v); raw("\"") }
    mutating func field<T>(_ key: StaticString, chars: inout T) {
        member(key)
        withUnsafeBytes(of: &chars) { string($0) }
    }
}
