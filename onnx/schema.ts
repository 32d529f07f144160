/**
 * The ONNX protobuf schema (the subset of `onnx.proto` Kiln reads and writes) as a protobufjs
 * JSON descriptor, and typed encode/decode of a `ModelProto`. Field numbers follow
 * onnx/onnx.proto (IR version 8); unknown fields of a file Kiln reads are skipped by the
 * decoder, so models using newer fields still load.
 * @module
 */
import protobuf from "protobufjs";

const str = (id: number) => ({ type: "string", id });
const i64 = (id: number) => ({ type: "int64", id });
const msg = (type: string, id: number) => ({ type, id });
const rep = (type: string, id: number, packed?: boolean) => ({
  rule: "repeated",
  type,
  id,
  ...(packed === undefined ? {} : { options: { packed } }),
});

/** protobufjs JSON descriptor of the ONNX messages used here (package `onnx`). */
export const ONNX_DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: str(1),
            refAttrName: str(21),
            docString: str(13),
            type: { type: "int32", id: 20 },
            f: { type: "float", id: 2 },
            i: i64(3),
            s: { type: "bytes", id: 4 },
            t: msg("TensorProto", 5),
            g: msg("GraphProto", 6),
            floats: rep("float", 7, true),
            ints: rep("int64", 8, true),
            strings: rep("bytes", 9),
            tensors: rep("TensorProto", 10),
            graphs: rep("GraphProto", 11),
          },
        },
        ValueInfoProto: {
          fields: { name: str(1), type: msg("TypeProto", 2), docString: str(3) },
        },
        NodeProto: {
          fields: {
            input: rep("string", 1),
            output: rep("string", 2),
            name: str(3),
            opType: str(4),
            domain: str(7),
            attribute: rep("AttributeProto", 5),
            docString: str(6),
          },
        },
        ModelProto: {
          fields: {
            irVersion: i64(1),
            opsetImport: rep("OperatorSetIdProto", 8),
            producerName: str(2),
            producerVersion: str(3),
            domain: str(4),
            modelVersion: i64(5),
            docString: str(6),
            graph: msg("GraphProto", 7),
            metadataProps: rep("StringStringEntryProto", 14),
          },
        },
        StringStringEntryProto: { fields: { key: str(1), value: str(2) } },
        GraphProto: {
          fields: {
            node: rep("NodeProto", 1),
            name: str(2),
            initializer: rep("TensorProto", 5),
            docString: str(10),
            input: rep("ValueInfoProto", 11),
            output: rep("ValueInfoProto", 12),
            valueInfo: rep("ValueInfoProto", 13),
          },
        },
        TensorProto: {
          fields: {
            dims: rep("int64", 1, true),
            dataType: { type: "int32", id: 2 },
            floatData: rep("float", 4, true),
            int32Data: rep("int32", 5, true),
            int64Data: rep("int64", 7, true),
            name: str(8),
            docString: str(12),
            rawData: { type: "bytes", id: 9 },
            externalData: rep("StringStringEntryProto", 13),
            dataLocation: { type: "int32", id: 14 },
            doubleData: rep("double", 10, true),
          },
        },
        TensorShapeProto: {
          fields: { dim: rep("Dimension", 1) },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ["dimValue", "dimParam"] } },
              fields: { dimValue: i64(1), dimParam: str(2), denotation: str(3) },
            },
          },
        },
        TypeProto: {
          fields: { tensorType: msg("Tensor", 1), denotation: str(6) },
          nested: {
            Tensor: {
              fields: { elemType: { type: "int32", id: 1 }, shape: msg("TensorShapeProto", 2) },
            },
          },
        },
        OperatorSetIdProto: { fields: { domain: str(1), version: i64(2) } },
      },
    },
  },
};

/** ONNX `TensorProto.DataType` codes Kiln maps. */
export const DATA_TYPE = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

/** ONNX `AttributeProto.AttributeType` codes. */
export const ATTR_TYPE = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

/** A `TensorProto` as plain data (numbers for int64 fields). */
export interface TensorMsg {
  name?: string;
  dims?: number[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  rawData?: Uint8Array;
  dataLocation?: number;
}

/** An `AttributeProto` as plain data. */
export interface AttrMsg {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMsg;
  g?: GraphMsg;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

/** A `NodeProto` as plain data. */
export interface NodeMsg {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: AttrMsg[];
}

/** A dimension: a size or a symbolic name. */
export interface DimMsg {
  dimValue?: number;
  dimParam?: string;
}

/** A `ValueInfoProto` (tensor types only) as plain data. */
export interface ValueInfoMsg {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: DimMsg[] } } };
}

/** A `GraphProto` as plain data. */
export interface GraphMsg {
  node?: NodeMsg[];
  name?: string;
  initializer?: TensorMsg[];
  input?: ValueInfoMsg[];
  output?: ValueInfoMsg[];
  valueInfo?: ValueInfoMsg[];
  docString?: string;
}

/** A `ModelProto` as plain data. */
export interface ModelMsg {
  irVersion?: number;
  opsetImport?: { domain?: string; version?: number }[];
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  graph?: GraphMsg;
}

let modelType: protobuf.Type | undefined;
function model(): protobuf.Type {
  return modelType ??= protobuf.Root.fromJSON(ONNX_DESCRIPTOR).lookupType("onnx.ModelProto");
}

/** Serializes a model. */
export function encodeModel(m: ModelMsg): Uint8Array {
  const t = model();
  return t.encode(t.fromObject(m as Record<string, unknown>)).finish();
}

/** Parses a model; int64 fields become numbers (exact up to 2^53), bytes stay Uint8Array. */
export function decodeModel(bytes: Uint8Array): ModelMsg {
  const t = model();
  return t.toObject(t.decode(bytes), { longs: Number, defaults: false }) as ModelMsg;
}
