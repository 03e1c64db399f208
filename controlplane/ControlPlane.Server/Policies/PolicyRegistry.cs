using System.Text;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Policies;

/// <summary>
/// The policies' behaviour over any <see cref="IPolicyStore"/>: validation as policy.proto states
/// it, versions, the audit trail, unknown instance ids, and the change signal the discovery push
/// listens to. Transport-neutral: <see cref="PolicyService"/> (gRPC, and REST by transcoding) calls it.
/// </summary>
public sealed class PolicyRegistry
{
    /// <summary>Reason of invalid read requests (the registry's).</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>Reason of a change whose required version (SetPolicyRequest.version) is not the stored policy's (ABORTED, HTTP 409).</summary>
    public const string VersionMismatch = "version_mismatch";

    public const int MaxPageSize = 10_000;
    public const int MaxChangesLimit = 1000;
    public const int DefaultChangesLimit = 100;

    // The policy listing has no filters: its tokens are bound to the listing alone.
    private static readonly PageQuery Pages = new("controlplane.v1.PolicyService/ListPolicies");

    private readonly IPolicyStore _store;
    private readonly IRegistryStore _registry;
    private readonly ResourceChanges _changes;
    private readonly TimeProvider _clock;
    private readonly PolicyMetrics _metrics;
    private readonly ILogger _logger;

    public PolicyRegistry(IPolicyStore store, IRegistryStore registry, ResourceChanges changes, TimeProvider clock, PolicyMetrics metrics, ILogger<PolicyRegistry> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _registry = registry;
        _changes = changes;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>
    /// The version of a policy's content (image, algorithm, weights, sticky_key), as
    /// <see cref="ResourceVersion"/> digests it: equal content has the same version on every
    /// replica and after every restart, whoever set it and when; different content never shares one.
    /// </summary>
    public static string VersionOf(RoutingPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return ResourceVersion.Of(Content(policy.Image, policy.Algorithm, policy.Weights, policy.StickyKey));
    }

    public async Task<SetPolicyResponse> SetAsync(SetPolicyRequest request, PolicyCaller caller, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(caller);
        try
        {
            PolicyValidator.ValidateSet(request);
        }
        catch (RpcException)
        {
            _metrics.Change(PolicyActions.Set, "invalid");
            throw;
        }
        // updated_at and updated_by of the request are output only (a GET answer sent back): ignored.
        var ifVersion = request.Version.Length > 0 ? request.Version : null;
        var policy = Content(request.Image, request.Algorithm, request.Weights, request.StickyKey);
        policy.Version = ResourceVersion.Of(policy); // before the read-only fields: the digest covers content only
        var unknown = await UnknownInstanceIdsAsync(policy, cancellationToken).ConfigureAwait(false);
        // Read after every other wait, just before the store's atomic step, so that concurrent changes
        // of an image get their times in the order the store applies them (the embedded store also
        // keeps each image's trail in time order; replicas on Redis each read their own clock).
        var now = _clock.GetUtcNow();
        policy.UpdatedAt = Timestamp.FromDateTimeOffset(now);
        policy.UpdatedBy = caller.Actor;

        PolicyWrite write;
        if (request.ValidateOnly)
        {
            var stored = await _store.GetAsync(policy.Image, cancellationToken).ConfigureAwait(false);
            if (ifVersion is not null && stored?.Version != ifVersion)
            {
                throw Mismatch(policy.Image, stored, caller);
            }
            // What would be stored: nothing new when the content is already there.
            write = new PolicyWrite(false, stored?.Version == policy.Version ? stored : policy, stored);
            _metrics.Change(PolicyActions.Set, "validated");
        }
        else
        {
            write = await _store.SetAsync(policy, new PolicyAudit(now, caller.Actor, request.Reason, caller.RequestId), ifVersion, cancellationToken).ConfigureAwait(false);
            if (write.VersionMismatch)
            {
                throw Mismatch(policy.Image, write.Current, caller);
            }
            if (write.Stored)
            {
                _changes.PolicyChanged(policy.Image);
                _metrics.Change(PolicyActions.Set, "stored");
                PolicyLog.Set(_logger, policy.Image, policy.Algorithm, policy.Version, write.Previous?.Version ?? "none", caller.Actor);
            }
            else
            {
                _metrics.Change(PolicyActions.Set, "unchanged");
                PolicyLog.Unchanged(_logger, policy.Image, policy.Version, caller.Actor);
            }
            if (unknown.Count > 0)
            {
                PolicyLog.UnknownInstances(_logger, policy.Image, unknown.Count);
            }
        }
        var response = new SetPolicyResponse { Ok = true, Policy = write.Current, Previous = write.Previous };
        response.UnknownInstanceIds.AddRange(unknown);
        return response;
    }

    public async Task<GetPolicyResponse> GetAsync(GetPolicyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ValidateImage(request.Image);
        var policy = await _store.GetAsync(request.Image, cancellationToken).ConfigureAwait(false)
            ?? throw NotFound(request.Image, "(it is routed with round_robin)");
        return new GetPolicyResponse { Policy = policy };
    }

    public async Task<ListPoliciesResponse> ListAsync(ListPoliciesRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new List<FieldViolation>();
        if (request.PageSize is < 0 or > MaxPageSize)
        {
            errors.Add(new("page_size", $"must be between 0 and {MaxPageSize} (0 = all)"));
        }
        var after = PageTokens.Read(request.PageToken, Pages, errors);
        if (errors.Count > 0)
        {
            throw RpcErrors.InvalidArgument(InvalidRequest, errors);
        }
        var limit = request.PageSize == 0 ? int.MaxValue : request.PageSize + 1;
        var policies = await _store.ListAsync(after, limit, cancellationToken).ConfigureAwait(false);
        var response = new ListPoliciesResponse();
        if (request.PageSize > 0 && policies.Count > request.PageSize)
        {
            response.Policies.AddRange(policies.Take(request.PageSize));
            response.NextPageToken = PageTokens.After(Pages, policies[request.PageSize - 1].Image);
        }
        else
        {
            response.Policies.AddRange(policies);
        }
        return response;
    }

    public async Task<DeletePolicyResponse> DeleteAsync(DeletePolicyRequest request, PolicyCaller caller, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(caller);
        try
        {
            PolicyValidator.ValidateDelete(request);
        }
        catch (RpcException)
        {
            _metrics.Change(PolicyActions.Delete, "invalid");
            throw;
        }
        var audit = new PolicyAudit(_clock.GetUtcNow(), caller.Actor, request.Reason, caller.RequestId);
        var previous = await _store.DeleteAsync(request.Image, audit, cancellationToken).ConfigureAwait(false);
        if (previous is null)
        {
            _metrics.Change(PolicyActions.Delete, "not_found");
            throw NotFound(request.Image, "to delete");
        }
        _changes.PolicyChanged(request.Image);
        _metrics.Change(PolicyActions.Delete, "stored");
        PolicyLog.Deleted(_logger, request.Image, previous.Version, caller.Actor);
        return new DeletePolicyResponse { Deleted = true, Previous = previous };
    }

    public async Task<ListPolicyChangesResponse> ListChangesAsync(ListPolicyChangesRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new List<FieldViolation>();
        PolicyValidator.CheckImage(errors, request.Image);
        if (request.Limit is < 0 or > MaxChangesLimit)
        {
            errors.Add(new("limit", $"must be between 0 and {MaxChangesLimit} (0 = {DefaultChangesLimit})"));
        }
        if (errors.Count > 0)
        {
            throw RpcErrors.InvalidArgument(InvalidRequest, errors);
        }
        var changes = await _store.ListChangesAsync(request.Image, request.Limit == 0 ? DefaultChangesLimit : request.Limit, cancellationToken).ConfigureAwait(false);
        var response = new ListPolicyChangesResponse();
        response.Changes.AddRange(changes);
        return response;
    }

    /// <summary>The content fields only, weights in instance-id order so equal content serialises to equal bytes.</summary>
    private static RoutingPolicy Content(string image, string algorithm, IEnumerable<KeyValuePair<string, int>> weights, string stickyKey)
    {
        var policy = new RoutingPolicy { Image = image, Algorithm = algorithm, StickyKey = stickyKey };
        foreach (var (instanceId, weight) in weights.OrderBy(w => w.Key, StringComparer.Ordinal))
        {
            policy.Weights.Add(instanceId, weight);
        }
        return policy;
    }

    /// <summary>Instance ids weighted by <paramref name="policy"/> that the registry holds no record of for its image, in order.</summary>
    private async Task<List<string>> UnknownInstanceIdsAsync(RoutingPolicy policy, CancellationToken cancellationToken)
    {
        if (policy.Weights.Count == 0)
        {
            return [];
        }
        var records = await _registry.ListAsync(new InstanceQuery(Image: policy.Image), cancellationToken).ConfigureAwait(false);
        var known = records.Select(r => r.InstanceId).ToHashSet(StringComparer.Ordinal);
        return [.. policy.Weights.Keys.Where(id => !known.Contains(id))]; // already ordered
    }

    private static void ValidateImage(string image)
    {
        var errors = new List<FieldViolation>();
        PolicyValidator.CheckImage(errors, image);
        if (errors.Count > 0)
        {
            throw RpcErrors.InvalidArgument(InvalidRequest, errors);
        }
    }

    /// <summary>ABORTED, the store's concurrency conflict (google.rpc.Code: "read-modify-write conflict"), with the stored version for the retry.</summary>
    private RpcException Mismatch(string image, RoutingPolicy? stored, PolicyCaller caller)
    {
        _metrics.Change(PolicyActions.Set, VersionMismatch);
        PolicyLog.VersionMismatch(_logger, image, stored?.Version ?? "none", caller.Actor);
        var message = stored is null
            ? $"image '{image}' has no stored policy, so not the version this change is based on; read it again and retry"
            : $"the policy of image '{image}' is at version {stored.Version}, not the version this change is based on; read it again and retry";
        return RpcErrors.Exception(StatusCode.Aborted, VersionMismatch, message,
            new Dictionary<string, string> { ["image"] = image, ["current_version"] = stored?.Version ?? "" });
    }

    private static RpcException NotFound(string image, string what) =>
        RpcErrors.Exception(StatusCode.NotFound, "not_found", $"image '{image}' has no stored policy {what}", new Dictionary<string, string> { ["image"] = image });

}
