using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Runtime;
using ControlPlane.Agents.Traffic;
using ControlPlane.Api.V1;
using ControlPlane.Sdk;

namespace ControlPlane.Agents.Chaos;

/// <summary>
/// chaos-agent (platform-agents-spec §5.7): makes an instance go away and verifies the image fails
/// over. expire-instance stops the instance's heartbeats and waits past its lease: the heartbeats
/// must be this process's (the sd-agent's registrar in the same runtime: cpctl's session, the MCP
/// server), since no process can stop another's; with lease_s it also renews the lease one last
/// time with that length, so the wait is short and an owner elsewhere is detected (its heartbeats
/// keep the instance alive: "still_heartbeated"). delete-instance deregisters it. Both always need
/// approval, refuse when the image has no other live instance, and then check the failover
/// (<see cref="FailoverCheck"/>).
/// </summary>
internal static class ChaosAgent
{
    public static readonly AgentInfo Info = new("chaos-agent", "chaos", "Let instances expire or delete them, and verify that traffic fails over.");

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    public static IEnumerable<AgentAction> Actions() =>
    [
        AgentAction.Create<ExpireInput>(Info, "expire-instance",
            "Stops the heartbeats of an instance kept alive by this process's sd-agent (optionally shortening its lease to lease_s), waits until the registry expires it, then verifies that traffic through a dataplane still succeeds and that the stats show the failover. Needs approval; refused when the image has no other live instance.",
            ExpireAsync, ApprovalRule.Always, destructive: true, target: i => i.InstanceId, positionals: ["instance_id"]),
        AgentAction.Create<DeleteInput>(Info, "delete-instance",
            "Deregisters an instance (DELETE /v1/services/{instance_id}) and verifies the failover as expire-instance does. Needs approval; with verify (default) refused when the image has no other live instance.",
            DeleteAsync, ApprovalRule.Always, destructive: true, target: i => i.InstanceId, positionals: ["instance_id"]),
    ];

    private static async Task<AgentEnvelope> ExpireAsync(ExpireInput input, ActionScope scope, CancellationToken ct)
    {
        var dataplane = TrafficGenAgent.Dataplane(scope, input.Dataplane);
        if (scope.DryRun)
        {
            return scope.Planned([
                scope.Plan(Rpcs.Registry("GetInstance"), new GetInstanceRequest { InstanceId = input.InstanceId }),
                scope.Plan(Rpcs.Registry("ListServices"), new ListServicesRequest { Image = "(the instance's image)" }, "another live instance to fail over to"),
                .. input.LeaseS is { } lease ? [scope.Plan(Rpcs.Registry("Heartbeat"), new HeartbeatRequest { InstanceId = input.InstanceId, TtlSeconds = lease }, "the last heartbeat: the lease ends in lease_s")] : Array.Empty<PlannedRequest>(),
                scope.Plan(Rpcs.Registry("GetInstance"), new GetInstanceRequest { InstanceId = input.InstanceId }, "polled until status expired"),
                .. VerificationPlan(scope, dataplane, input),
            ]);
        }
        var (instance, others) = await PreconditionsAsync(scope, input.InstanceId, requireOthers: true, ct).ConfigureAwait(false);
        scope.RequireApproval(true, $"expiring {input.InstanceId} of {instance.Image} (stopping its heartbeats; {others.Count} other live instance{(others.Count == 1 ? "" : "s")} remain)");

        var fleet = await FailoverCheck.FleetVersionsAsync(scope, ct).ConfigureAwait(false);
        var owned = scope.Runtime.Heartbeats.Release(input.InstanceId);
        if (!owned && input.LeaseS is null)
        {
            throw new AgentFailure(AgentErrorCodes.StillHeartbeated,
                $"{input.InstanceId} is not kept alive by this process's sd-agent, so its heartbeats cannot be stopped from here: run expire-instance where sd-agent registered it (the same cpctl session or MCP server), or give lease_s to shorten its lease and let the registry show whether its owner still heartbeats it");
        }
        var expiresAt = instance.ExpiresAt.ToDateTimeOffset();
        if (input.LeaseS is { } leaseS)
        {
            var beat = await scope.CallAsync(Rpcs.Registry("Heartbeat"), input.InstanceId, (c, t) => c.Registry.HeartbeatAsync(new HeartbeatRequest { InstanceId = input.InstanceId, TtlSeconds = leaseS }, t), ct).ConfigureAwait(false);
            expiresAt = beat.ExpiresAt.ToDateTimeOffset();
        }
        var stoppedAt = scope.Time.GetUtcNow();
        scope.Info("heartbeats stopped; waiting for the lease to run out", ("owned_here", owned), ("expires_at", expiresAt));
        JsonObject expired;
        try
        {
            expired = await WaitExpiredAsync(scope, input.InstanceId, expiresAt, stoppedAt, TimeSpan.FromSeconds(input.ExpiryGraceS), ct).ConfigureAwait(false);
        }
        catch (AgentFailure ex) when (ex.Code == AgentErrorCodes.StillHeartbeated && input.LeaseS is not null)
        {
            // Its owner keeps it alive: give the lease its own length back, so the experiment leaves no trace.
            await scope.CallAsync(Rpcs.Registry("Heartbeat"), input.InstanceId, (c, t) => c.Registry.HeartbeatAsync(new HeartbeatRequest { InstanceId = input.InstanceId, TtlSeconds = instance.TtlSeconds }, t), ct).ConfigureAwait(false);
            throw;
        }
        var synced = await FailoverCheck.WaitForDataplanesAsync(scope, fleet, TimeSpan.FromSeconds(input.SettleTimeoutS), ct).ConfigureAwait(false);
        var result = new JsonObject
        {
            ["instance_id"] = input.InstanceId,
            ["image"] = instance.Image,
            ["heartbeats_stopped_here"] = owned,
            ["lease_shortened_to_s"] = input.LeaseS,
            ["expired"] = expired,
            ["dataplanes_synced"] = synced,
            ["register_again"] = Reregistration(instance),
        };
        result["failover"] = await VerifyAsync(scope, instance, dataplane, input, result, ct).ConfigureAwait(false);
        return scope.Ok(result, $"{input.InstanceId} expired; {result["failover"]!["verdict"]}{Environment.NewLine}");
    }

    private static async Task<AgentEnvelope> DeleteAsync(DeleteInput input, ActionScope scope, CancellationToken ct)
    {
        var dataplane = TrafficGenAgent.Dataplane(scope, input.Dataplane);
        if (scope.DryRun)
        {
            return scope.Planned([
                scope.Plan(Rpcs.Registry("GetInstance"), new GetInstanceRequest { InstanceId = input.InstanceId }),
                scope.Plan(Rpcs.Registry("ListServices"), new ListServicesRequest { Image = "(the instance's image)" }, "another live instance to fail over to"),
                .. input.Verify ? [scope.Plan(new HttpCall(HttpMethod.Get, Urls.Combine(dataplane, $"g/(image)/{input.Path.TrimStart('/')}")), note: $"baseline: {input.Requests} requests must succeed before anything is changed")] : Array.Empty<PlannedRequest>(),
                scope.Plan(Rpcs.Registry("Deregister"), new DeregisterRequest { InstanceId = input.InstanceId }),
                .. input.Verify ? VerificationPlan(scope, dataplane, input) : [],
            ]);
        }
        var (instance, others) = await PreconditionsAsync(scope, input.InstanceId, requireOthers: input.Verify, ct).ConfigureAwait(false);
        scope.RequireApproval(true, $"deleting {input.InstanceId} of {instance.Image} ({others.Count} other live instance{(others.Count == 1 ? "" : "s")} remain)");
        var baseline = input.Verify ? await FailoverCheck.BaselineAsync(scope, instance.Image, dataplane, input, ct).ConfigureAwait(false) : null;
        var fleet = input.Verify ? await FailoverCheck.FleetVersionsAsync(scope, ct).ConfigureAwait(false) : [];
        var response = await scope.CallAsync(Rpcs.Registry("Deregister"), input.InstanceId, async (c, t) =>
        {
            scope.Runtime.Heartbeats.Release(input.InstanceId);
            return await c.Registry.DeregisterAsync(new DeregisterRequest { InstanceId = input.InstanceId }, t).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        var result = new JsonObject { ["instance_id"] = input.InstanceId, ["image"] = instance.Image, ["deregistered"] = response.Deregistered, ["register_again"] = Reregistration(instance) };
        if (!input.Verify)
        {
            return scope.Ok(result, $"{input.InstanceId} deregistered (failover not verified){Environment.NewLine}");
        }
        result["baseline"] = baseline;
        try
        {
            result["dataplanes_synced"] = await FailoverCheck.WaitForDataplanesAsync(scope, fleet, TimeSpan.FromSeconds(input.SettleTimeoutS), ct).ConfigureAwait(false);
            result["failover"] = await VerifyAsync(scope, instance, dataplane, input, result, ct).ConfigureAwait(false);
        }
        catch (AgentFailure ex)
        {
            // The instance is gone whatever the check says: the message (stderr in table output) says so, and how to undo it.
            throw new AgentFailure(ex.Code, $"{input.InstanceId} was deregistered, and then {ex.Detail}; register it again with: cpctl sd register --input '{Reregistration(instance).ToJsonString()}'", ex.Result ?? result);
        }
        return scope.Ok(result, $"{input.InstanceId} deregistered; {result["failover"]!["verdict"]}{Environment.NewLine}");
    }

    private static async Task<(Instance Instance, IReadOnlyList<Instance> Others)> PreconditionsAsync(ActionScope scope, string instanceId, bool requireOthers, CancellationToken ct)
    {
        Instance instance;
        try
        {
            instance = (await scope.CallAsync(Rpcs.Registry("GetInstance"), instanceId, (c, t) => c.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = instanceId }, t), ct).ConfigureAwait(false)).Instance;
        }
        catch (ControlPlaneException ex) when (ex.ErrorCode == AgentErrorCodes.NotFound)
        {
            throw new AgentFailure(AgentErrorCodes.NotFound, $"{instanceId} is not registered");
        }
        if (instance.Status != "healthy")
        {
            throw new AgentFailure(AgentErrorCodes.InvalidRequest, $"{instanceId} is {instance.Status}, not healthy: there is nothing to fail over from");
        }
        var others = (await RegistryReads.InstancesAsync(scope, instance.Image, ct).ConfigureAwait(false))
            .Where(i => i.InstanceId != instanceId && i.Status == "healthy").ToList();
        if (requireOthers && others.Count == 0)
        {
            throw new AgentFailure(AgentErrorCodes.NoFailoverTarget,
                $"{instanceId} is the only healthy instance of {instance.Image}: there is no other instance to fail over to, so the failover cannot succeed; register another instance first. Nothing was changed.");
        }
        return (instance, others);
    }

    /// <summary>Polls the registry until the instance is expired (or already removed); detects an owner that keeps heartbeating it.</summary>
    private static async Task<JsonObject> WaitExpiredAsync(ActionScope scope, string instanceId, DateTimeOffset expiresAt, DateTimeOffset stoppedAt, TimeSpan grace, CancellationToken ct)
    {
        var deadline = expiresAt + grace;
        Instance? last = null;
        while (true)
        {
            try
            {
                last = (await scope.CallAsync(Rpcs.Registry("GetInstance"), instanceId, (c, t) => c.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = instanceId }, t), ct).ConfigureAwait(false)).Instance;
            }
            catch (ControlPlaneException ex) when (ex.ErrorCode == AgentErrorCodes.NotFound)
            {
                return new JsonObject { ["status"] = "removed", ["observed_at"] = ProtoJson.Time(Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(scope.Time.GetUtcNow())) };
            }
            var now = scope.Time.GetUtcNow();
            if (last.Status == "expired")
            {
                return new JsonObject { ["status"] = "expired", ["lease_ended_at"] = ProtoJson.Time(last.ExpiresAt), ["observed_at"] = ProtoJson.Time(Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now)), ["waited_s"] = Math.Round((now - stoppedAt).TotalSeconds, 3) };
            }
            var leaseEnds = last.ExpiresAt.ToDateTimeOffset();
            if (leaseEnds > deadline || now > deadline)
            {
                var beaten = last.LastHeartbeatAt.ToDateTimeOffset() > stoppedAt + TimeSpan.FromSeconds(1);
                throw new AgentFailure(beaten ? AgentErrorCodes.StillHeartbeated : AgentErrorCodes.FailoverFailed, beaten
                    ? $"{instanceId} is still heartbeated by another owner (last heartbeat {ProtoJson.Time(last.LastHeartbeatAt)}, lease now ends {ProtoJson.Time(last.ExpiresAt)}): stop its owner, or let this process's sd-agent register and keep it"
                    : $"{instanceId} did not expire by {deadline:yyyy-MM-ddTHH:mm:ssZ} (status {last.Status}, lease ends {ProtoJson.Time(last.ExpiresAt)})");
            }
            await Task.Delay(Poll, scope.Time, ct).ConfigureAwait(false);
        }
    }

    private static async Task<JsonObject> VerifyAsync(ActionScope scope, Instance instance, Uri dataplane, ChaosSettings settings, JsonObject result, CancellationToken ct)
    {
        try
        {
            return await FailoverCheck.VerifyAsync(scope, instance.Image, instance.InstanceId, dataplane, settings, ct).ConfigureAwait(false);
        }
        catch (AgentFailure ex)
        {
            result["failover"] = ex.Result;
            throw new AgentFailure(ex.Code, ex.Detail, result);
        }
    }

    private static IEnumerable<PlannedRequest> VerificationPlan(ActionScope scope, Uri dataplane, ChaosSettings settings) =>
    [
        scope.Plan(Rpcs.Dataplanes("ListDataplanes"), new ListDataplanesRequest(), "polled until every node acknowledged the change"),
        scope.Plan(Rpcs.Stats("GetInstanceStats"), new GetInstanceStatsRequest { Image = "(the instance's image)", Window = "1h" }, "before and after each round of traffic"),
        scope.Plan(new HttpCall(HttpMethod.Get, Urls.Combine(dataplane, $"g/(image)/{settings.Path.TrimStart('/')}")), note: $"2 rounds of {settings.Requests} requests at {settings.Rps} per second"),
    ];

    /// <summary>The sd-agent input that registers the instance again as it was.</summary>
    private static JsonObject Reregistration(Instance instance) => new()
    {
        ["instances"] = new JsonArray(new JsonObject
        {
            ["name"] = instance.Name,
            ["image"] = instance.Image,
            ["instance_id"] = instance.InstanceId,
            ["host"] = instance.Host,
            ["port"] = instance.Port,
            ["region"] = instance.Region,
            ["metadata"] = ProtoJson.Struct(instance.Metadata),
            ["ttl_seconds"] = instance.TtlSeconds,
        }),
    };
}

/// <summary>How the failover is exercised.</summary>
internal abstract record ChaosSettings
{
    [Description("The instance to make go away.")]
    [Length(1, 128)]
    public required string InstanceId { get; init; }

    [Description("The dataplane base URL the verification traffic goes through (default the first of AGENT_DATAPLANES).")]
    public string? Dataplane { get; init; }

    [Description("Requests per verification round (default 40); two rounds.")]
    [Range(1, 100_000)]
    public int Requests { get; init; } = 40;

    [Description("Rate of the verification traffic, requests per second (default 20).")]
    [Range(0.1, 10_000)]
    public double Rps { get; init; } = 20;

    [Description("Path of the verification requests after /g/{image} (default /).")]
    public string Path { get; init; } = "/";

    [Description("How long the dataplanes and the stats may take to show the change, seconds (default 60).")]
    [Range(1, 3600)]
    public double SettleTimeoutS { get; init; } = 60;
}

internal sealed record ExpireInput : ChaosSettings
{
    [Description("Renew the lease one last time with this length, in seconds, so it runs out soon (and an owner elsewhere shows by renewing it); default: wait out the current lease.")]
    [Range(1, 3600)]
    public int? LeaseS { get; init; }

    [Description("How long after the lease's end the registry may take to mark it expired, seconds (default 15).")]
    [Range(0, 3600)]
    public double ExpiryGraceS { get; init; } = 15;
}

internal sealed record DeleteInput : ChaosSettings
{
    [Description("Verify the failover afterwards (default true; then refused when no other instance is live).")]
    public bool Verify { get; init; } = true;
}
