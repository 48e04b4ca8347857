/// One leaf column of a ``ParquetSchema``: its path from the root, element, physical type and
/// maximum definition and repetition levels.
public struct ColumnDescriptor: Sendable, Equatable {
    /// The names from the root's child down to the leaf (the root's own name excluded).
    public var path: [String]
    /// The leaf's schema element.
    public var element: SchemaElement
    /// The leaf's index in the flattened schema list.
    public var elementIndex: Int
    public var physicalType: PhysicalType
    /// One for each OPTIONAL or REPEATED element on the path (root excluded, leaf included).
    public var maxDefinitionLevel: Int
    /// One for each REPEATED element on the path.
    public var maxRepetitionLevel: Int
    /// The index of the root's child this leaf is under.
    public var topLevelIndex: Int
    /// True when the leaf is not a direct child of the root or has a repeated level.
    public var isNested: Bool
    /// The path joined with dots (`a.list.element`).
    public var dottedPath: String { path.joined(separator: ".") }
}

/// One child of the schema root: a top-level column (a leaf, or a group holding several).
public struct TopLevelField: Sendable, Equatable {
    public var name: String
    /// Its index in the flattened schema list.
    public var elementIndex: Int
    /// The index in ``ParquetSchema/leaves`` of its first leaf.
    public var firstLeaf: Int
    /// How many leaves it holds (one for a primitive column).
    public var leafCount: Int

    public init(name: String, elementIndex: Int, firstLeaf: Int, leafCount: Int) {
        self.name = name
        self.elementIndex = elementIndex
        self.firstLeaf = firstLeaf
        self.leafCount = leafCount
    }
}

/// The schema tree of a file, built from the flattened depth-first `SchemaElement` list
/// (element 0 the root), with its leaves and their levels.
public struct ParquetSchema: Sendable {
    /// The deepest nesting accepted below the root.
    public static let maxDepth = 64

    public let elements: [SchemaElement]
    /// The leaf columns in schema order (the order of a row group's column chunks).
    public let leaves: [ColumnDescriptor]
    /// The root's children in order.
    public let topLevel: [TopLevelField]

    /// The root element.
    public var root: SchemaElement { elements[0] }

    /// Validates the tree: the root has children, every `num_children` is matched by the
    /// elements that follow with none left over, every non-root element has a repetition and
    /// every leaf a physical type, nesting at most ``maxDepth``. A violation throws `.corrupt`;
    /// a repetition other than REQUIRED, OPTIONAL or REPEATED throws `.unsupported`.
    public init(_ elements: [SchemaElement]) throws {
        guard let root = elements.first else { throw ParquetError(.corrupt, "schema: the schema list is empty") }
        guard let n = root.numChildren, n > 0 else {
            throw ParquetError(.corrupt, "schema: the root '\(root.name)' has no children (num_children \(root.numChildren.map(String.init) ?? "unset"))")
        }
        var builder = Builder(elements: elements)
        for c in 0..<Int(n) {
            guard builder.index < elements.count else {
                throw ParquetError(
                    .corrupt, "schema: the root declares \(n) children but the schema ends after \(c) (\(elements.count) elements)")
            }
            let top = builder.index
            let first = builder.leaves.count
            try builder.node(depth: 1, path: [], definition: 0, repetition: 0, topLevel: c)
            builder.topLevel.append(
                TopLevelField(name: elements[top].name, elementIndex: top, firstLeaf: first, leafCount: builder.leaves.count - first))
        }
        guard builder.index == elements.count else {
            throw ParquetError(
                .corrupt, "schema: \(elements.count - builder.index) elements follow the root's \(n) children (\(elements.count) elements)")
        }
        self.elements = elements
        leaves = builder.leaves
        topLevel = builder.topLevel
    }

    private struct Builder {
        let elements: [SchemaElement]
        var index = 1
        var leaves: [ColumnDescriptor] = []
        var topLevel: [TopLevelField] = []

        init(elements: [SchemaElement]) { self.elements = elements }

        mutating func node(depth: Int, path: [String], definition: Int, repetition: Int, topLevel: Int) throws {
            let i = index
            let e = elements[i]
            index += 1
            guard depth <= ParquetSchema.maxDepth else {
                throw ParquetError(.corrupt, "schema: element \(i) ('\(e.name)') is nested deeper than \(ParquetSchema.maxDepth) levels")
            }
            guard let rep = e.repetition else {
                throw ParquetError(.corrupt, "schema: element \(i) ('\(e.name)') has no repetition_type")
            }
            var definition = definition
            var repetition = repetition
            switch rep {
            case .required: break
            case .optional: definition += 1
            case .repeated:
                definition += 1
                repetition += 1
            default:
                throw ParquetError(.unsupported, "schema: element \(i) ('\(e.name)') has \(rep), which this implementation does not read")
            }
            let path = path + [e.name]
            if let n = e.numChildren, n != 0 {
                guard n > 0 else { throw ParquetError(.corrupt, "schema: element \(i) ('\(e.name)') has num_children \(n)") }
                for c in 0..<Int(n) {
                    guard index < elements.count else {
                        throw ParquetError(
                            .corrupt,
                            "schema: element \(i) ('\(e.name)') declares \(n) children but the schema ends after \(c) (\(elements.count) elements)")
                    }
                    try node(depth: depth + 1, path: path, definition: definition, repetition: repetition, topLevel: topLevel)
                }
            } else {
                guard let type = e.type else {
                    throw ParquetError(.corrupt, "schema: element \(i) ('\(e.name)') is a leaf (no children) without a physical type")
                }
                leaves.append(
                    ColumnDescriptor(
                        path: path, element: e, elementIndex: i, physicalType: type, maxDefinitionLevel: definition,
                        maxRepetitionLevel: repetition, topLevelIndex: topLevel, isNested: path.count > 1 || repetition > 0))
            }
        }
    }
}
