
using System.Text.Json.Nodes;
using ControlPlane.Agents.Runtime;
using ControlPlane.Api.V1;
using ControlPlane.Sdk;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Agents.Sd;

/// <summary>
/// sd-agent (platform-agents-spec §5.1): registers instances on behalf of an orchestrator after
/// checking the control plane is ready, keeps them alive (the SDK's InstanceRegistrar, one heartbeat
/// stream, every ttl/2), and deregisters them. Guard: an instance id already live under another
/// name or image is refused, before anything is registered.
/// </summary>
internal static class SdAgent
{
    public static readonly AgentInfo Info = new("sd-agent", "sd", "Register/heartbeat/deregister platform instances on behalf of the orchestrator.");

    private static readonly JsonParser StructParser = new(JsonParser.Settings.Default);

    public static IEnumerable<AgentAction> Actions() =>
    [
        AgentAction.Create<RegisterInput>(Info, "register",
            "Checks the control plane's /readyz, refuses instance ids live under another name or image, registers the instances and keeps them alive with heartbeats every ttl_seconds/2 while this process runs.",
            RegisterAsync, target: i => Target(i.Instances.Select(x => x.InstanceId))),
        AgentAction.Create<HeartbeatInput>(Info, "heartbeat",
            "Renews the leases of instances once (optionally with a new TTL).",
            HeartbeatAsync, target: i => Target(i.InstanceIds)),
        AgentAction.Create<InstanceIdsInput>(Info, "deregister",
            "Removes instances from the registry at once (stops their heartbeats here first). Destructive: needs approval.",
            DeregisterAsync, ApprovalRule.Always, destructive: true, target: i => Target(i.InstanceIds), positionals: ["instance_ids"]),
        AgentAction.Create<ListInput>(Info, "list",
            "Lists registered instances, filtered by service name, image and status.",
            ListAsync, readOnly: true, target: i => i.Image ?? i.Name),
    ];

    private static async Task<AgentEnvelope> RegisterAsync(RegisterInput input, ActionScope scope, CancellationToken ct)
    {
        var requests = ToRequests(input.Instances);
        if (scope.DryRun)
        {
            return scope.Planned([
                scope.Plan(Readiness.Call(scope.Options.LbBase), note: "require 200 ok"),
                .. requests.Select(r => scope.Plan(Rpcs.Registry("GetInstance"), new GetInstanceRequest { InstanceId = r.InstanceId }, "guard: refuse an id live under another name or image")),
                .. requests.Select(r => scope.Plan(Rpcs.Registry("Register"), r, input.Heartbeat ? $"then heartbeats every {HeartbeatPool.IntervalFor(r.TtlSeconds).TotalSeconds:0.###} s" : null)),
            ]);
        }
        var ready = await Readiness.ProbeAsync(scope, "control-plane", scope.Options.LbBase, ct).ConfigureAwait(false);
        if (!ready.Ready)
        {
            throw new AgentFailure(AgentErrorCodes.NotReady, $"the control plane is not ready ({ready.Url}: {ready.Summary}); nothing was registered", new JsonObject { ["readiness"] = ready.ToJson() });
        }
        await GuardAsync(requests, scope, ct).ConfigureAwait(false);

        var registered = new JsonArray();
        DateTimeOffset? earliest = null;
        foreach (var request in requests)
        {
            try
            {
                DateTimeOffset expires;
                if (input.Heartbeat)
                {
                    await scope.CallAsync(Rpcs.Registry("Register"), request.InstanceId, async (_, t) =>
                    {
                        await scope.Runtime.Heartbeats.AddAsync(request, t).ConfigureAwait(false);
                        return true;
                    }, ct).ConfigureAwait(false);
                    var stored = await scope.CallAsync(Rpcs.Registry("GetInstance"), request.InstanceId, (c, t) => c.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = request.InstanceId }, t), ct).ConfigureAwait(false);
                    expires = stored.Instance.ExpiresAt.ToDateTimeOffset();
                }
                else
                {
                    var response = await scope.CallAsync(Rpcs.Registry("Register"), request.InstanceId, (c, t) => c.Registry.RegisterAsync(request, t), ct).ConfigureAwait(false);
                    expires = response.ExpiresAt.ToDateTimeOffset();
                }
                earliest = earliest is null || expires < earliest ? expires : earliest;
                registered.Add(new JsonObject { ["instance_id"] = request.InstanceId, ["expires_at"] = ProtoJson.Time(Timestamp.FromDateTimeOffset(expires)) });
            }
            catch (ControlPlaneException ex)
            {
                // The SDK already retried what may be retried (AGENT_RETRY): escalate to the humans.
                var code = AgentErrorCodes.FromServer(ex.ErrorCode);
                var detail = $"registering {request.InstanceId} failed: {code}: {ex.Detail}";
                await scope.PostToChannelAsync("alert", $"sd-agent: {detail}", new JsonObject { ["instance_id"] = request.InstanceId, ["code"] = code }, ct).ConfigureAwait(false);
                var before = registered.Select(r => (string)r!["instance_id"]!).ToList();
                throw new AgentFailure(code, detail + (before.Count > 0
                        ? $"; registered before it, and still registered: {Ids(before)}" + (input.Heartbeat ? " (heartbeated until this process ends)" : "")
                        : "; nothing was registered"),
                    new JsonObject { ["registered"] = registered.Count, ["instances"] = registered });
            }
        }
        var interval = HeartbeatPool.IntervalFor(requests.Min(r => r.TtlSeconds));
        var result = new JsonObject
        {
            ["registered"] = registered.Count,
            ["expires_at"] = earliest is null ? null : ProtoJson.Time(Timestamp.FromDateTimeOffset(earliest.Value)),
            ["instances"] = registered,
            ["heartbeating"] = input.Heartbeat,
            ["heartbeat_interval_s"] = input.Heartbeat ? interval.TotalSeconds : null,
        };
        var text = $"registered {registered.Count} instance{(registered.Count == 1 ? "" : "s")} ({Ids(requests.Select(r => r.InstanceId))}), first lease ends {result["expires_at"]}" +
            (input.Heartbeat ? $"; heartbeats every {interval.TotalSeconds:0.###} s while this process runs" : "; no heartbeats: the leases run out") + Environment.NewLine;
        return scope.Ok(result, text);
    }

    /// <summary>The log lines' target: the first ten ids and a count of the rest (300 ids made 2 KB lines).</summary>
    private static string Target(IEnumerable<string> ids)
    {
        var list = ids.ToList();
        return string.Join(",", list.Take(10)) + (list.Count > 10 ? $",+{list.Count - 10} more" : "");
    }

    /// <summary>Ids for a message: all of a few, the first ten and a count of many.</summary>
    private static string Ids(IEnumerable<string> ids)
    {
        var list = ids.ToList();
        return list.Count <= 10 ? string.Join(", ", list) : string.Join(", ", list.Take(10)) + $" and {list.Count - 10} more";
    }

    /// <summary>
    /// The reference's guard: an id may only be registered again under its own name and image. An
    /// expired record counts too: the server keeps it for a while (ExpiredRetention) and refuses the
    /// id under another name or image until it is gone, so skipping it here would register the ids
    /// before it and then fail.
    /// </summary>
    private static async Task GuardAsync(IReadOnlyList<RegisterRequest> requests, ActionScope scope, CancellationToken ct)
    {
        var conflicts = new List<string>();
        foreach (var request in requests)
        {
            Instance existing;
            try
            {
                existing = (await scope.CallAsync(Rpcs.Registry("GetInstance"), request.InstanceId, (c, t) => c.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = request.InstanceId }, t), ct).ConfigureAwait(false)).Instance;
            }
            catch (ControlPlaneException ex) when (ex.ErrorCode == AgentErrorCodes.NotFound)
            {
                continue;
            }
            if (existing.Name != request.Name || existing.Image != request.Image)
            {
                conflicts.Add($"{request.InstanceId} is registered as {existing.Name}/{existing.Image} ({existing.Status}), not {request.Name}/{request.Image}");
            }
        }
        if (conflicts.Count > 0)
        {
            throw new AgentFailure(AgentErrorCodes.DuplicateInstance, "duplicate instance id: " + string.Join("; ", conflicts) + "; nothing was registered");
        }
    }

    private static List<RegisterRequest> ToRequests(List<InstanceSpec> specs)
    {
        var byId = new Dictionary<string, InstanceSpec>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            if (byId.TryGetValue(spec.InstanceId, out var earlier) && (earlier.Name != spec.Name || earlier.Image != spec.Image))
            {
                throw new AgentFailure(AgentErrorCodes.DuplicateInstance,
                    $"duplicate instance id in the input: {spec.InstanceId} is listed as {earlier.Name}/{earlier.Image} and as {spec.Name}/{spec.Image}; nothing was registered");
            }
            byId[spec.InstanceId] = spec;
        }
        return [.. byId.Values.Select(s => new RegisterRequest
        {
            Name = s.Name,
            Image = s.Image,
            InstanceId = s.InstanceId,
            Host = s.Host,
            Port = s.Port,
            Region = s.Region ?? "",
            Metadata = s.Metadata is null ? null : StructParser.Parse<Struct>(s.Metadata.ToJsonString()),
            TtlSeconds = s.TtlSeconds,
        })];
    }

    private static async Task<AgentEnvelope> HeartbeatAsync(HeartbeatInput input, ActionScope scope, CancellationToken ct)
    {
        var requests = input.InstanceIds.Distinct(StringComparer.Ordinal).Select(id => new HeartbeatRequest { InstanceId = id, TtlSeconds = input.TtlSeconds ?? 0 }).ToList();
        if (scope.DryRun)
        {
            return scope.Planned([.. requests.Select(r => scope.Plan(Rpcs.Registry("Heartbeat"), r))]);
        }
        var rows = new JsonArray();
        var failures = new List<(string Id, string Code, string Detail)>();
        // Every id is attempted: one expired id must not leave the ones after it unrenewed.
        foreach (var request in requests)
        {
            try
            {
                var response = await scope.CallAsync(Rpcs.Registry("Heartbeat"), request.InstanceId, (c, t) => c.Registry.HeartbeatAsync(request, t), ct).ConfigureAwait(false);
                rows.Add(new JsonObject { ["instance_id"] = response.InstanceId, ["renewed"] = true, ["ttl_seconds"] = response.TtlSeconds, ["expires_at"] = ProtoJson.Time(response.ExpiresAt), ["status"] = response.Status });
            }
            catch (ControlPlaneException ex)
            {
                failures.Add((request.InstanceId, AgentErrorCodes.FromServer(ex.ErrorCode), ex.Detail));
                rows.Add(new JsonObject { ["instance_id"] = request.InstanceId, ["renewed"] = false, ["error"] = new JsonObject { ["code"] = AgentErrorCodes.FromServer(ex.ErrorCode), ["detail"] = ex.Detail } });
            }
        }
        var result = new JsonObject { ["renewed"] = rows.Count - failures.Count, ["failed"] = failures.Count, ["instances"] = rows };
        return PerId(scope, "renewed", requests.Count, failures, result, TextTable.Render(rows.Cast<JsonObject>().Select(Flatten)));
    }

    /// <summary>The envelope of an action on several ids: ok when all succeeded, else the first failure's code, every id's outcome in the result.</summary>
    private static AgentEnvelope PerId(ActionScope scope, string done, int total, List<(string Id, string Code, string Detail)> failures, JsonObject result, string text)
    {
        if (failures.Count == 0)
        {
            return scope.Ok(result, text);
        }
        var detail = $"{total - failures.Count} of {total} {done}; failed: " + string.Join("; ", failures.Select(f => $"{f.Id}: {f.Code}: {f.Detail}"));
        return scope.Fail(failures[0].Code, detail, result, text);
    }

    /// <summary>A row with its error as two flat columns, for the table.</summary>
    private static JsonObject Flatten(JsonObject row)
    {
        var flat = (JsonObject)row.DeepClone();
        if (flat["error"] is JsonObject error)
        {
            flat.Remove("error");
            flat["error"] = $"{error["code"]}: {error["detail"]}";
        }
        return flat;
    }

    private static async Task<AgentEnvelope> DeregisterAsync(InstanceIdsInput input, ActionScope scope, CancellationToken ct)
    {
        var ids = input.InstanceIds.Distinct(StringComparer.Ordinal).ToList();
        if (scope.DryRun)
        {
            return scope.Planned([.. ids.Select(id => scope.Plan(Rpcs.Registry("Deregister"), new DeregisterRequest { InstanceId = id }))]);
        }
        scope.RequireApproval(true, $"deregistering {string.Join(", ", ids)}");
        var rows = new JsonArray();
        var failures = new List<(string Id, string Code, string Detail)>();
        // Every id is attempted and reported: a retry then needs only the ones that failed.
        foreach (var id in ids)
        {
            try
            {
                var response = await scope.CallAsync(Rpcs.Registry("Deregister"), id, async (c, t) =>
                {
                    // Stop our own heartbeats first, or the registrar would register it again.
                    scope.Runtime.Heartbeats.Release(id);
                    return await c.Registry.DeregisterAsync(new DeregisterRequest { InstanceId = id }, t).ConfigureAwait(false);
                }, ct).ConfigureAwait(false);
                rows.Add(new JsonObject { ["instance_id"] = id, ["deregistered"] = response.Deregistered, ["image"] = response.Instance?.Image });
            }
            catch (ControlPlaneException ex)
            {
                failures.Add((id, AgentErrorCodes.FromServer(ex.ErrorCode), ex.Detail));
                rows.Add(new JsonObject { ["instance_id"] = id, ["deregistered"] = false, ["error"] = new JsonObject { ["code"] = AgentErrorCodes.FromServer(ex.ErrorCode), ["detail"] = ex.Detail } });
            }
        }
        var result = new JsonObject { ["deregistered"] = ids.Count - failures.Count, ["failed"] = failures.Count, ["instances"] = rows };
        var text = failures.Count == 0 ? $"deregistered {string.Join(", ", ids)}{Environment.NewLine}" : TextTable.Render(rows.Cast<JsonObject>().Select(Flatten));
        return PerId(scope, "deregistered", ids.Count, failures, result, text);
    }

    private static async Task<AgentEnvelope> ListAsync(ListInput input, ActionScope scope, CancellationToken ct)
    {
        var request = new ListServicesRequest { Name = input.Name ?? "", Image = input.Image ?? "", Status = input.Status ?? "" };
        if (scope.DryRun)
        {
            return scope.Planned([scope.Plan(Rpcs.Registry("ListServices"), request)]);
        }
        var instances = new List<Instance>();
        do
        {
            var page = await scope.CallAsync(Rpcs.Registry("ListServices"), null, (c, t) => c.Registry.ListServicesAsync(request, t), ct).ConfigureAwait(false);
            instances.AddRange(page.Instances);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        var rows = instances.Select(ProtoJson.Instance).ToList();
        var text = TextTable.Render(["instance_id", "name", "image", "host", "port", "status", "expires_at"], rows);
        return scope.Ok(new JsonObject { ["count"] = rows.Count, ["instances"] = new JsonArray([.. rows]) }, text);
    }

}
