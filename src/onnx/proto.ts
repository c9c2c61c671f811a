/**
 * The part of the ONNX protobuf schema this package writes (ModelProto and what it holds), as a
 * protobufjs JSON descriptor: field numbers from the public ONNX IR specification.
 *
 * @module
 */
import protobuf from "protobufjs";
import { DataType, type ModelSpec, type ValueInfo } from "./model_spec.ts";

// The model's plain data lives in model_spec.ts; this module adds only its encoding.
export * from "./model_spec.ts";

const repeated = (type: string, id: number) => ({ rule: "repeated", type, id });

const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: "int64", id: 1 },
            producerName: { type: "string", id: 2 },
            producerVersion: { type: "string", id: 3 },
            graph: { type: "GraphProto", id: 7 },
            opsetImport: repeated("OperatorSetIdProto", 8),
          },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: "string", id: 1 }, version: { type: "int64", id: 2 } },
        },
        GraphProto: {
          fields: {
            node: repeated("NodeProto", 1),
            name: { type: "string", id: 2 },
            initializer: repeated("TensorProto", 5),
            input: repeated("ValueInfoProto", 11),
            output: repeated("ValueInfoProto", 12),
          },
        },
        NodeProto: {
          fields: {
            input: repeated("string", 1),
            output: repeated("string", 2),
            name: { type: "string", id: 3 },
            opType: { type: "string", id: 4 },
            attribute: repeated("AttributeProto", 5),
            domain: { type: "string", id: 7 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: "string", id: 1 },
            f: { type: "float", id: 2 },
            i: { type: "int64", id: 3 },
            s: { type: "bytes", id: 4 },
            floats: repeated("float", 7),
            ints: repeated("int64", 8),
            type: { type: "int32", id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: repeated("int64", 1),
            dataType: { type: "int32", id: 2 },
            name: { type: "string", id: 8 },
            rawData: { type: "bytes", id: 9 },
          },
        },
        ValueInfoProto: {
          fields: { name: { type: "string", id: 1 }, type: { type: "TypeProto", id: 2 } },
        },
        TypeProto: {
          fields: { tensorType: { type: "TensorTypeProto", id: 1 } },
        },
        TensorTypeProto: {
          fields: {
            elemType: { type: "int32", id: 1 },
            shape: { type: "TensorShapeProto", id: 2 },
          },
        },
        TensorShapeProto: {
          fields: { dim: repeated("DimensionProto", 1) },
        },
        DimensionProto: {
          oneofs: { value: { oneof: ["dimValue", "dimParam"] } },
          fields: {
            dimValue: { type: "int64", id: 1 },
            dimParam: { type: "string", id: 2 },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(SCHEMA);
const ModelProto = root.lookupType("onnx.ModelProto");

function valueInfo(v: ValueInfo) {
  const dim = v.shape.map((d) => typeof d === "string" ? { dimParam: d } : { dimValue: d });
  return {
    name: v.name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } },
  };
}

/**
 * Serialises a model as an ONNX ModelProto (IR version 8, which opsets 17 and 18 belong to).
 *
 * @param m the graph
 * @returns the .onnx bytes
 * @example
 * ```ts
 * import { encodeModel } from "./proto.ts";
 * const bytes = encodeModel({
 *   nodes: [{ opType: "Relu", input: ["x"], output: ["y"], attribute: [] }],
 *   initializers: [],
 *   inputs: [{ name: "x", shape: ["N", 3] }],
 *   outputs: [{ name: "y", shape: ["N", 3] }],
 *   opset: 17,
 * });
 * ```
 */
export function encodeModel(m: ModelSpec): Uint8Array {
  const message = ModelProto.fromObject({
    irVersion: 8,
    producerName: "@adps/ambient",
    producerVersion: "0.1.0",
    opsetImport: [{ domain: "", version: m.opset }],
    graph: {
      name: "adps",
      node: m.nodes.map((n, k) => ({ ...n, name: `${n.opType}_${k}` })),
      initializer: m.initializers,
      input: m.inputs.map(valueInfo),
      output: m.outputs.map(valueInfo),
    },
  });
  return ModelProto.encode(message).finish();
}

/**
 * Parses an ONNX ModelProto back (the fields this package writes), for tests and inspection.
 *
 * @param bytes .onnx bytes
 * @returns the decoded message as a plain object (int64s as numbers)
 */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Array });
}
