/// The element type of a token file: uint16 when every id fits (vocabulary of at most 65536), else uint32.
public enum TokenDType: String, Codable, Sendable, CaseIterable {
    case uint16, uint32

    public static func fitting(vocabularySize: Int) -> TokenDType { vocabularySize <= 65536 ? .uint16 : .uint32 }

    public var byteWidth: Int { self == .uint16 ? 2 : 4 }
    /// NumPy's type string (little-endian).
    public var descr: String { self == .uint16 ? "<u2" : "<u4" }
    public var maximumId: Int64 { self == .uint16 ? 65535 : 4_294_967_295 }
}

/// The NumPy .npy header, format version 1.0, as `numpy.save` writes it:
/// magic "\x93NUMPY", version bytes 1 0, a little-endian uint16 header length, then the Python dict literal
/// `{'descr': '<u2', 'fortran_order': False, 'shape': (N,), }` padded with spaces and ended by "\n" so that
/// magic + version + length + dict is a multiple of 64 bytes.
public enum NumPyHeader {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    public static func encode(dtype: TokenDType, count: Int) -> [UInt8] {
        let dict = "{'descr': '\(dtype.descr)', 'fortran_order': False, 'shape': (\(count),), }"
        let preamble = magic.count + 2 + 2
        let unpadded = preamble + dict.utf8.count + 1
        let padding = (64 - unpadded % 64) % 64
        let text = dict + String(repeating: " ", count: padding) + "\n"
        let length = UInt16(text.utf8.count)
        return magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(text.utf8)
    }

    /// Parses a header; returns the dtype, the element count and the offset of the data.
    /// Accepts versions 1.0, 2.0 and 3.0 (4-byte header length), as numpy may write them.
    public static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws -> (dtype: TokenDType, count: Int, dataOffset: Int) {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw TokenFileError.notNumPy(path: path, reason: "it does not start with the NumPy magic \\x93NUMPY")
        }
        let major = bytes[6]
        let headerLength: Int, start: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw TokenFileError.notNumPy(path: path, reason: "the header is cut short") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        default:
            throw TokenFileError.unsupported(path: path, reason: "NumPy format version \(major).\(bytes[7])")
        }
        guard start + headerLength <= bytes.count else {
            throw TokenFileError.notNumPy(path: path, reason: "the header is cut short")
        }
        let text = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        guard let descr = value(of: "descr", in: text) else {
            throw TokenFileError.notNumPy(path: path, reason: "the header has no 'descr'")
        }
        let dtype: TokenDType
        switch descr {
        case "'<u2'": dtype = .uint16
        case "'<u4'": dtype = .uint32
        default: throw TokenFileError.unsupported(path: path, reason: "element type \(descr)")
        }
        guard let order = value(of: "fortran_order", in: text), order == "False" || order == "True" else {
            throw TokenFileError.notNumPy(path: path, reason: "the header has no 'fortran_order'")
        }
        guard let shape = value(of: "shape", in: text) else {
            throw TokenFileError.notNumPy(path: path, reason: "the header has no 'shape'")
        }
        // A 1-D shape is "(N,)".
        let inner = shape.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard shape.hasPrefix("("), shape.hasSuffix(")"), inner.count == 1 else {
            throw TokenFileError.unsupported(path: path, reason: "shape \(shape) is not one-dimensional")
        }
        guard let count = Int(inner[0]), count >= 0 else {
            throw TokenFileError.notNumPy(path: path, reason: "shape \(shape) does not give a token count")
        }
        return (dtype, count, start + headerLength)
    }

    /// The text after "'key':" up to the next top-level comma or closing brace.
    private static func value(of key: String, in header: String) -> String? {
        guard let range = header.range(of: "'\(key)':") else { return nil }
        var depth = 0
        var result = ""
        for character in header[range.upperBound...] {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if depth == 0 && (character == "," || character == "}") { break }
            result.append(character)
        }
        return result.trimmingCharacters(in: .whitespaces)
    }
}

import Foundation
