/**
 * What an ONNX model holds, as plain data: nodes, initializers, inputs and outputs, and the
 * protobuf enum codes they use. Apart from the protobuf encoding (proto.ts), so that tracing
 * through the ops loads no protobuf library (the browser entry stays free of npm packages).
 *
 * @module
 */

/** TensorProto.DataType codes used here. */
export const DataType = { FLOAT: 1, INT64: 7, BOOL: 9 } as const;

/** AttributeProto.AttributeType codes used here. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

/** A graph value's type: f32 with dimensions, a string naming a dynamic one. */
export interface ValueInfo {
  /** Value name. */
  name: string;
  /** Dimensions; a string is a symbolic (dynamic) dimension. */
  shape: readonly (number | string)[];
}

/** A node attribute. */
export type Attribute =
  | { name: string; type: typeof AttributeType.FLOAT; f: number }
  | { name: string; type: typeof AttributeType.INT; i: number }
  | { name: string; type: typeof AttributeType.STRING; s: Uint8Array }
  | { name: string; type: typeof AttributeType.FLOATS; floats: number[] }
  | { name: string; type: typeof AttributeType.INTS; ints: number[] };

/** One node. */
export interface NodeSpec {
  /** Operator name, e.g. "Conv". */
  opType: string;
  /** Input value names ("" for an omitted optional input). */
  input: string[];
  /** Output value names. */
  output: string[];
  /** Attributes. */
  attribute: Attribute[];
}

/** A constant: raw little-endian bytes of f32 or i64 values. */
export interface InitializerSpec {
  /** Value name. */
  name: string;
  /** Dimensions. */
  dims: number[];
  /** DataType code. */
  dataType: number;
  /** The bytes. */
  rawData: Uint8Array;
}

/** Everything a model file holds. */
export interface ModelSpec {
  /** Nodes in topological order. */
  nodes: NodeSpec[];
  /** Constants. */
  initializers: InitializerSpec[];
  /** Graph inputs. */
  inputs: ValueInfo[];
  /** Graph outputs. */
  outputs: ValueInfo[];
  /** The default-domain opset. */
  opset: number;
}
