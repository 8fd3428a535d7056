import Foundation

/// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length,
/// a JSON header {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}},
/// then the raw tensor bytes (offsets relative to the end of the header). Swiftlet writes and reads F32 only.
public enum Safetensors {
    /// One tensor to write: its name, shape and `shape.product` Floats.
    public struct Source {
        public let name: String
        public let shape: [Int]
        public let data: UnsafePointer<Float>
        public init(name: String, shape: [Int], data: UnsafePointer<Float>) {
            self.name = name
            self.shape = shape
            self.data = data
        }
    }

    /// Writes the tensors (in the given order) atomically to `path`. The header is padded with spaces to a
    /// multiple of 8 bytes, so every tensor's data starts 8-byte aligned (F32 data is 4-byte multiples).
    public static func write(_ tensors: [Source], metadata: [String: String] = ["format": "pt"], to path: String) throws {
        var entries: [String] = []
        var offset = 0
        for t in tensors {
            let bytes = t.shape.reduce(1, *) * 4
            entries.append("\(jsonString(t.name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        let meta = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
        var header = "{\"__metadata__\":{\(meta)}" + (entries.isEmpty ? "" : ",") + entries.joined(separator: ",") + "}"
        while (header.utf8.count + 8) % 8 != 0 { header += " " }
        var length = UInt64(header.utf8.count).littleEndian
        try AtomicFiles.writeFile(at: path) { write in
            try withUnsafeBytes(of: &length) { try write($0) }
            try Array(header.utf8).withUnsafeBytes { try write($0) }
            for t in tensors {
                try write(UnsafeRawBufferPointer(start: t.data, count: t.shape.reduce(1, *) * 4))
            }
        }
    }

    private static func jsonString(_ s: String) -> String {
        let data = (try? JSONEncoder.keepingSlashes().encode(s)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// A tensor's entry in a file's header.
    public struct Entry: Equatable {
        public let dtype: String
        public let shape: [Int]
        /// Byte range inside the data section.
        public let begin: Int
        public let end: Int
    }

    /// A parsed and validated safetensors file (memory-mapped).
    public struct File {
        public let path: String
        public let metadata: [String: String]
        public let entries: [String: Entry]
        let contents: Data
        let dataStart: Int

        /// Reads and validates the header: its length, its JSON, every entry's dtype/shape/offsets
        /// (inside the file, matching the shape's size). Dtypes other than F32 are reported when a tensor
        /// is read, so a file may carry tensors Swiftlet ignores.
        public init(path: String) throws {
            self.path = path
            try CheckpointError.requireFile(path)
            do { contents = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
                throw CheckpointError.unreadable(path: path, reason: error.localizedDescription)
            }
            guard contents.count >= 8 else {
                throw CheckpointError.truncated(path: path, detail: "\(contents.count) bytes, shorter than the 8-byte header length")
            }
            let headerLength = contents.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            guard headerLength <= UInt64(contents.count - 8) else {
                throw CheckpointError.truncated(path: path, detail: "header of \(headerLength) bytes but only \(contents.count - 8) follow")
            }
            dataStart = 8 + Int(headerLength)
            let dataSize = contents.count - dataStart
            let json: Any
            do { json = try JSONSerialization.jsonObject(with: contents.subdata(in: 8..<dataStart)) } catch {
                throw CheckpointError.invalidHeader(path: path, detail: "not valid JSON")
            }
            guard let header = json as? [String: Any] else {
                throw CheckpointError.invalidHeader(path: path, detail: "not a JSON object")
            }
            var metadata: [String: String] = [:]
            var entries: [String: Entry] = [:]
            // In name order, so a damaged file names the same tensor on every run (a dictionary's order varies).
            for name in header.keys.sorted() {
                let value = header[name]!
                if name == "__metadata__" {
                    guard let map = value as? [String: Any] else {
                        throw CheckpointError.invalidHeader(path: path, detail: "__metadata__ is not an object")
                    }
                    for (k, v) in map {
                        guard let s = v as? String else {
                            throw CheckpointError.invalidHeader(path: path, detail: "__metadata__ value '\(k)' is not a string")
                        }
                        metadata[k] = s
                    }
                    continue
                }
                guard let object = value as? [String: Any], let dtype = object["dtype"] as? String,
                      let shapeValues = object["shape"] as? [Any], let offsetValues = object["data_offsets"] as? [Any]
                else {
                    throw CheckpointError.invalidHeader(path: path, detail: "entry '\(name)' needs dtype, shape and data_offsets")
                }
                let shape = try shapeValues.map { try Self.integer($0, path: path, what: "shape of '\(name)'") }
                let offsets = try offsetValues.map { try Self.integer($0, path: path, what: "data_offsets of '\(name)'") }
                guard shape.allSatisfy({ $0 >= 0 }), shape.count <= 8 else {
                    throw CheckpointError.invalidHeader(path: path, detail: "shape \(shape) of '\(name)' is invalid")
                }
                guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                    throw CheckpointError.offsetsOutOfRange(path: path, tensor: name, detail: "\(offsets) is not [begin, end]")
                }
                guard offsets[1] <= dataSize else {
                    throw CheckpointError.offsetsOutOfRange(path: path, tensor: name,
                                                            detail: "end \(offsets[1]) is past the \(dataSize) data bytes (file truncated?)")
                }
                if let width = Self.dtypeWidth[dtype] {
                    // The byte count, checked for overflow (a damaged shape may multiply past Int.max).
                    let (bytes, overflow) = shape.reduce((width, false)) { acc, d in
                        let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                        return (p, acc.1 || o)
                    }
                    guard !overflow, bytes == offsets[1] - offsets[0] else {
                        throw CheckpointError.offsetsOutOfRange(path: path, tensor: name,
                            detail: "\(offsets[1] - offsets[0]) bytes do not hold shape \(shape) of \(dtype)")
                    }
                }
                entries[name] = Entry(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
            }
            try Self.checkCoverage(entries, dataSize: dataSize, path: path)
            self.metadata = metadata
            self.entries = entries
        }

        /// The format's rule (safetensors' own loader enforces it): the tensors' byte ranges, in offset order,
        /// tile the data section exactly, so no two tensors share bytes and no byte is left over. A shifted
        /// offset or appended bytes otherwise load as other weights without a word.
        private static func checkCoverage(_ entries: [String: Entry], dataSize: Int, path: String) throws {
            var covered = 0, previous: String?
            for (name, entry) in entries.sorted(by: { ($0.value.begin, $0.value.end, $0.key) < ($1.value.begin, $1.value.end, $1.key) }) {
                if entry.begin < covered {
                    throw CheckpointError.offsetsOutOfRange(path: path, tensor: name,
                                                            detail: "[\(entry.begin), \(entry.end)] overlaps '\(previous ?? "")'")
                }
                if entry.begin > covered {
                    throw CheckpointError.offsetsOutOfRange(path: path, tensor: name,
                                                            detail: "bytes \(covered)..<\(entry.begin) before it belong to no tensor")
                }
                covered = entry.end
                previous = name
            }
            if covered != dataSize {
                throw CheckpointError.invalidHeader(path: path, detail: "the last \(dataSize - covered) bytes of the data belong to no tensor")
            }
        }

        static let dtypeWidth: [String: Int] = ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4,
                                                "I16": 2, "I8": 1, "U8": 1, "BOOL": 1]

        private static func integer(_ value: Any, path: String, what: String) throws -> Int {
            if let n = value as? NSNumber {
                let d = n.doubleValue
                if d >= 0 && d < 9.0e15 && d == d.rounded() { return Int(d) }
            }
            throw CheckpointError.invalidHeader(path: path, detail: "\(what) must hold non-negative integers below 9e15")
        }

        /// Copies the F32 tensor `name` into `destination` after checking its dtype and shape.
        public func read(_ name: String, shape expected: [Int], into destination: UnsafeMutablePointer<Float>) throws {
            guard let entry = entries[name] else { throw CheckpointError.missingTensor(path: path, tensor: name) }
            guard entry.dtype == "F32" else { throw CheckpointError.wrongDtype(path: path, tensor: name, dtype: entry.dtype) }
            guard entry.shape == expected else {
                throw CheckpointError.wrongShape(path: path, tensor: name, expected: expected, found: entry.shape)
            }
            contents.withUnsafeBytes { raw in
                // Little-endian F32 on a little-endian machine: a plain copy (the source may be unaligned).
                UnsafeMutableRawPointer(destination).copyMemory(from: raw.baseAddress! + dataStart + entry.begin,
                                                                byteCount: entry.end - entry.begin)
            }
        }

        /// The F32 tensor `name` as an array (any shape).
        public func floats(_ name: String) throws -> [Float] {
            guard let entry = entries[name] else { throw CheckpointError.missingTensor(path: path, tensor: name) }
            var out = [Float](repeating: 0, count: entry.shape.reduce(1, *))
            try out.withUnsafeMutableBufferPointer { try read(name, shape: entry.shape, into: $0.baseAddress!) }
            return out
        }
    }
}

extension JSONEncoder {
    /// An encoder that writes "/" as it is (Foundation's default writes "\/": valid, but paths read badly).
    static func keepingSlashes() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }
}
