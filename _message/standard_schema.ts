// The Standard Schema v1 interface (https://standardschema.dev), which zod
// (3.24 and 4), valibot (1), arktype (2) and others implement. The spec asks
// libraries that accept schemas to copy these types rather than depend on a
// package: these are its v1 types (MIT licence), trimmed of nothing a
// schema needs.

/**
 * A schema that implements Standard Schema v1: a zod, valibot or arktype
 * schema, or any object with a `"~standard"` property of
 * {@linkcode StandardSchemaV1.Props}. `request.validate()` takes one.
 *
 * @typeParam Input What the schema takes.
 * @typeParam Output What it gives once validated.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly "~standard": StandardSchemaV1.Props<Input, Output>;
}

/** The types of {@linkcode StandardSchemaV1}. */
export declare namespace StandardSchemaV1 {
  /** The Standard Schema properties. */
  export interface Props<Input = unknown, Output = Input> {
    /** The version of the standard: 1. */
    readonly version: 1;
    /** The name of the schema library. */
    readonly vendor: string;
    /** Validates a value; may answer asynchronously. */
    readonly validate: (
      value: unknown,
      options?: StandardSchemaV1.Options | undefined,
    ) => Result<Output> | Promise<Result<Output>>;
    /** The types the schema takes and gives (for inference only). */
    readonly types?: Types<Input, Output> | undefined;
  }

  /** What `validate` gives. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;

  /** The result of a value that passed. */
  export interface SuccessResult<Output> {
    /** The typed output value. */
    readonly value: Output;
    /** No issues: the value passed. */
    readonly issues?: undefined;
  }

  /** Options of `validate`. */
  export interface Options {
    /** Options of the schema library itself. */
    readonly libraryOptions?: Record<string, unknown> | undefined;
  }

  /** The result of a value that failed. */
  export interface FailureResult {
    /** What was wrong. */
    readonly issues: ReadonlyArray<Issue>;
  }

  /** One thing wrong with a value. */
  export interface Issue {
    /** The message, for people. */
    readonly message: string;
    /** Where in the value, from its root, if anywhere. */
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }

  /** A step of an issue's path, as an object. */
  export interface PathSegment {
    /** The key of the step. */
    readonly key: PropertyKey;
  }

  /** The types a schema takes and gives. */
  export interface Types<Input = unknown, Output = Input> {
    /** What the schema takes. */
    readonly input: Input;
    /** What it gives. */
    readonly output: Output;
  }

  /** The type a schema takes. */
  export type InferInput<Schema extends StandardSchemaV1> = NonNullable<
    Schema["~standard"]["types"]
  >["input"];

  /** The type a schema gives once a value passed. */
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<
    Schema["~standard"]["types"]
  >["output"];
}
