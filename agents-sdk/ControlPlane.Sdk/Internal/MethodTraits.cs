using System.Collections.Concurrent;
using ControlPlane.Api.V1;
using Google.Protobuf.Reflection;
using IdempotencyLevel = Google.Protobuf.Reflection.MethodOptions.Types.IdempotencyLevel;

namespace ControlPlane.Sdk.Internal;

/// <summary>
/// What the protos say about a method, read from its descriptor (never from a hand-kept list, so a
/// new method gets the right behaviour by its options alone): whether it may be retried
/// (<c>idempotency_level</c> IDEMPOTENT or NO_SIDE_EFFECTS, unary only), whether it only reads
/// (NO_SIDE_EFFECTS: its answer may be served from a replica's memory), and which token it needs
/// (<c>(controlplane.v1.admin_only)</c>, <c>(controlplane.v1.dataplane_only)</c>).
/// </summary>
internal sealed record MethodTraits(bool Retryable, bool AdminOnly, bool DataplaneOnly, bool Read = false)
{
    // GetOptions() returns a fresh copy on every call: read each method once.
    private static readonly ConcurrentDictionary<MethodDescriptor, MethodTraits> Cache = new();

    public static MethodTraits Of(MethodDescriptor method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return Cache.GetOrAdd(method, static m =>
        {
            var options = m.GetOptions();
            var level = options?.IdempotencyLevel ?? IdempotencyLevel.IdempotencyUnknown;
            var unary = !m.IsClientStreaming && !m.IsServerStreaming;
            return new MethodTraits(
                Retryable: unary && level is IdempotencyLevel.Idempotent or IdempotencyLevel.NoSideEffects,
                AdminOnly: options?.GetExtension(OptionsExtensions.AdminOnly) ?? false,
                DataplaneOnly: options?.GetExtension(OptionsExtensions.DataplaneOnly) ?? false,
                Read: unary && level is IdempotencyLevel.NoSideEffects);
        });
    }
}
