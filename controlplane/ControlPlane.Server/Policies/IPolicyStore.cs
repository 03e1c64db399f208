using ControlPlane.Api.V1;

namespace ControlPlane.Server.Policies;

/// <summary>
/// Where routing policies and their audit trails live. The embedded in-memory store is the
/// default; the Redis store (scale-out) implements the same contract with this layout:
/// <list type="bullet">
/// <item><c>policy:{image}</c>: the RoutingPolicy as JSON with proto field names, i.e. the
/// reference's <c>{image, algorithm, weights?, sticky_key?}</c> plus the read-only
/// <c>version</c>, <c>updated_at</c>, <c>updated_by</c>;</item>
/// <item><c>policies</c>: a sorted set of the images that have one (ordered listing);</item>
/// <item><c>policy_changes:{image}</c>: a list of PolicyChange JSON, newest first, trimmed to
/// the bound (LPUSH + LTRIM).</item>
/// </list>
/// A write and its audit record are one atomic step (MULTI/EXEC or a script), and the store, not
/// the caller, decides what "before" was, so concurrent writers never record a wrong history.
/// Validation happens before the store is called. Messages handed in are copied; messages handed
/// out are the caller's own.
/// </summary>
public interface IPolicyStore
{
    /// <summary>The policy of <paramref name="image"/>, or null when it has none.</summary>
    ValueTask<RoutingPolicy?> GetAsync(string image, CancellationToken cancellationToken = default);

    /// <summary>Policies ordered by image (ordinal), those after <paramref name="afterImage"/> only, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<RoutingPolicy>> ListAsync(string? afterImage = null, int limit = int.MaxValue, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores <paramref name="policy"/> and appends a "set" record to the image's audit trail,
    /// unless the stored policy already has its version (equal content): then nothing is written,
    /// no record is added (a retried PUT is not a change) and <see cref="PolicyWrite.Stored"/> is false.
    /// With <paramref name="ifVersion"/>, first checks, in the same atomic step, that the stored policy
    /// has that version: when it has another or there is none, nothing is written, no record is added,
    /// and <see cref="PolicyWrite.VersionMismatch"/> is true.
    /// </summary>
    ValueTask<PolicyWrite> SetAsync(RoutingPolicy policy, PolicyAudit audit, string? ifVersion = null, CancellationToken cancellationToken = default);

    /// <summary>Removes the policy of <paramref name="image"/> and appends a "delete" record; null (and no record) when there was none.</summary>
    ValueTask<RoutingPolicy?> DeleteAsync(string image, PolicyAudit audit, CancellationToken cancellationToken = default);

    /// <summary>The newest <paramref name="limit"/> audit records of <paramref name="image"/>, newest first (kept after a delete).</summary>
    ValueTask<IReadOnlyList<PolicyChange>> ListChangesAsync(string image, int limit, CancellationToken cancellationToken = default);
}

/// <summary>Who made a change, when, why, and in which request: the audit record's context.</summary>
public sealed record PolicyAudit(DateTimeOffset At, string Actor, string Reason, string RequestId);

/// <summary>The outcome of <see cref="IPolicyStore.SetAsync"/>: the policy now stored, and the one before.</summary>
/// <param name="Stored">False when nothing was written: the stored policy already had this content, or <see cref="VersionMismatch"/>.</param>
/// <param name="Current">The policy stored now; null only on a <see cref="VersionMismatch"/> for an image without one.</param>
public sealed record PolicyWrite(bool Stored, RoutingPolicy? Current, RoutingPolicy? Previous)
{
    /// <summary>The write was conditional on a version the stored policy did not have (or there was none); nothing was written.</summary>
    public bool VersionMismatch { get; init; }

    /// <summary>Nothing written: the stored policy, <paramref name="current"/> (null when none), has not the version the write required.</summary>
    public static PolicyWrite Mismatch(RoutingPolicy? current) => new(false, current, current?.Clone()) { VersionMismatch = true };
}

/// <summary>The PolicyChange.action values.</summary>
public static class PolicyActions
{
    public const string Set = "set";

    public const string Delete = "delete";
}
