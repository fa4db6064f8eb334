// SPDX-License-Identifier: GPL-2.0-or-later
// The vocabulary for describing a D-Bus interface once, in TypeScript. From one definition come
// the handler types (a handler whose arguments don't match the signature doesn't compile), the
// dispatcher's runtime checks, and the introspection XML.
import type { Codec } from '../dbus-wire/bus-value';

export interface ArgDefinition<T> {
  readonly name: string;
  readonly codec: Codec<T>;
  readonly doc: string;
}

export function arg<T>(name: string, codec: Codec<T>, doc: string): ArgDefinition<T> {
  return { name, codec, doc };
}

/** The shape shared by every codec, whatever its value type (Codec<T> is invariant in T). */
export interface AnyCodec {
  readonly signature: string;
  decode(value: unknown, where?: string): unknown;
}

/** An argument list of any types; the element types are recovered with ArgTypes. */
export type AnyArgs = readonly { readonly name: string; readonly codec: AnyCodec; readonly doc: string }[];

export type ArgTypes<A> = { -readonly [K in keyof A]: A[K] extends ArgDefinition<infer T> ? T : never };

export interface MethodDefinition<In extends AnyArgs, Out extends AnyArgs> {
  readonly doc: string;
  readonly in: In;
  readonly out: Out;
  /**
   * The polkit action that authorizes this method. A method with an action changes the host:
   * its implementation must split validation from application, and the dispatcher checks
   * authorization in between. A method without one only reads.
   */
  readonly action?: string;
}

/** A method that only reads. */
export function method<const In extends AnyArgs, const Out extends AnyArgs>(
  definition: { doc: string; in: In; out: Out },
): MethodDefinition<In, Out> {
  return definition;
}

/** A method that changes the host, authorized by the polkit `action`. */
export function mutatingMethod<const In extends AnyArgs, const Out extends AnyArgs>(
  action: string,
  definition: { doc: string; in: In; out: Out },
): MethodDefinition<In, Out> & { readonly action: string } {
  return { ...definition, action };
}

export interface PropertyDefinition<T> {
  readonly codec: Codec<T>;
  readonly doc: string;
  /** 'true': PropertiesChanged carries the new value; 'const': never changes while running. */
  readonly emitsChangedSignal: 'true' | 'const';
}

export function property<T>(codec: Codec<T>, doc: string, emitsChangedSignal: 'true' | 'const' = 'true'): PropertyDefinition<T> {
  return { codec, doc, emitsChangedSignal };
}

/** A signal the object emits; only signals declared in the spec can be emitted (Dispatcher.emit). */
export interface SignalDefinition<Args extends AnyArgs> {
  readonly doc: string;
  readonly args: Args;
}

export function signal<const Args extends AnyArgs>(definition: { doc: string; args: Args }): SignalDefinition<Args> {
  return definition;
}

export interface InterfaceDefinition {
  readonly name: string;
  readonly path: string;
  readonly doc: string;
  readonly methods: Readonly<Record<string, MethodDefinition<AnyArgs, AnyArgs>>>;
  readonly properties: Readonly<Record<string, { readonly codec: AnyCodec; readonly doc: string; readonly emitsChangedSignal: 'true' | 'const' }>>;
  readonly signals: Readonly<Record<string, SignalDefinition<AnyArgs>>>;
  /** Error names the interface's methods may return, with what each means. */
  readonly errors: Readonly<Record<string, string>>;
}

export function signatureOf(args: AnyArgs): string {
  return args.map((a) => a.codec.signature).join('');
}

/** Who called, as the dispatcher learned it from the message. */
export interface Caller {
  /** The caller's unique bus name (polkit's system-bus-name subject). */
  readonly busName: string;
  /** The caller allowed interactive authorization (message flag). */
  readonly allowInteraction: boolean;
}

/**
 * What a mutating method's validation decides: either the answer is known without changing
 * anything (a no-op: reply at once, no polkit prompt), or here is the change to apply once the
 * caller is authorized.
 */
export type Prepared<Out> =
  | { readonly noOp: Out }
  | {
    readonly apply: () => Promise<Out>;
    /**
     * Told just before polkit is asked (a Progress step, where the method has one), through
     * `toCaller`, which sends a declared signal to the caller alone: before authorization,
     * nothing of a caller's reaches anyone else.
     */
    readonly authorizing?: ((toCaller: (signal: string, args: unknown[]) => void) => void) | undefined;
    /** What the change is about, for the audit line ('nic=eth0 bridge=br0'). */
    readonly subject?: string;
  };

type Method<M> = M extends MethodDefinition<infer In, infer Out> ? { in: ArgTypes<In>; out: ArgTypes<Out> } : never;

export type MethodImplementation<M> = M extends { readonly action: string }
  ? { prepare(args: Method<M>['in'], caller: Caller): Promise<Prepared<Method<M>['out']>> }
  : {
    read(args: Method<M>['in'], caller: Caller): Promise<Method<M>['out']>;
    /**
     * Optional: a key that is the same whenever the reply would be (e.g. the listing itself, as
     * JSON). The dispatcher then marshals the reply once per key, for a reply asked for often
     * and changed seldom. Called right before read, with nothing awaited in between.
     */
    replyKey?(args: Method<M>['in']): string;
    /**
     * The reading costs work (processes, other services' calls) that any caller may ask for
     * without authorization: the dispatcher runs a few of one user's at once and has the next
     * wait their turn (refused, LimitsExceeded, only beyond a bounded queue).
     */
    readonly costly?: boolean;
  };

/** The argument values of a declared signal, in order. */
export type SignalArgs<S> = S extends SignalDefinition<infer Args> ? ArgTypes<Args> : never;

export type PropertyType<P> = P extends PropertyDefinition<infer T> ? T : never;

/** Everything a service must provide to export `I`: one implementation per method, one getter per property. */
export interface Implementation<I extends InterfaceDefinition> {
  readonly methods: { readonly [K in keyof I['methods']]: MethodImplementation<I['methods'][K]> };
  readonly properties: { readonly [K in keyof I['properties']]: () => PropertyType<I['properties'][K]> };
}

/**
 * How a service's failures reach its callers. The dispatcher knows no service's error type: it
 * asks this for each failure of a method, and anything it doesn't claim is unexpected (logged
 * with its stack; the caller gets `failedName` and a plain message).
 */
export interface ErrorMapping {
  /** The D-Bus error name and message of a failure the service expects, or undefined. */
  reply(err: unknown): { readonly errorName: string; readonly message: string } | undefined;
  /** Whether the failure undid the change it was making (its audit line is a warning). */
  isRollback(err: unknown): boolean;
  readonly failedName: string;
}
