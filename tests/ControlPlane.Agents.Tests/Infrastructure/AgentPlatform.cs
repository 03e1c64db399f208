using System.Text.Json;

namespace ControlPlane.Agents.Tests.Infrastructure;

/// <summary>
/// What the agent tests share, started once: the control plane (admin token <see cref="Token"/>), one
/// dataplane node reporting its load every second, three backends (b1, b2, b3: each answers with its
/// id in X-Instance-Id), and a webhook sink (user channel, billing endpoint, a health target). The
/// token reaches the agents only through <see cref="TokenVariable"/>, as AGENT_PLATFORM_TOKEN would.
/// Scenarios use images of their own and deregister what they registered.
/// </summary>
public sealed class AgentPlatform : IAsyncLifetime
{
    /// <summary>A token distinctive enough to find anywhere it leaks.</summary>
    public const string Token = "agt-tok-7f3c91d2e5b84a06";
    public const string TokenVariable = "CONTROLPLANE_AGENTS_TESTS_TOKEN";

    private readonly string _state = Directory.CreateTempSubdirectory("controlplane-agents-").FullName;

    public ControlPlaneProcess ControlPlane { get; private set; } = null!;

    public DataplaneNode Node { get; private set; } = null!;

    public IReadOnlyList<BackendProcess> Backends { get; private set; } = [];

    public WebhookSink Sink { get; private set; } = null!;

    public Uri HttpBase => ControlPlane.Client.BaseAddress!;

    public Uri NodeBase => Node.Client.BaseAddress!;

    public string StateDirectory => _state;

    public IEnumerable<ChildProcess> Processes => [ControlPlane.Process, Node.Process, .. Backends.Select(b => b.Process)];

    public async ValueTask InitializeAsync()
    {
        Environment.SetEnvironmentVariable(TokenVariable, Token);
        Sink = await WebhookSink.StartAsync();
        ControlPlane = await ControlPlaneProcess.StartAsync(new Dictionary<string, string> { ["PLATFORM_TOKEN"] = Token });
        Task<BackendProcess>[] backends = [BackendProcess.StartAsync("b1"), BackendProcess.StartAsync("b2"), BackendProcess.StartAsync("b3")];
        var node = DataplaneNode.StartAsync("agents-node", ControlPlane.GrpcAddress, Directory.CreateDirectory(Path.Combine(_state, "node")).FullName,
            new Dictionary<string, string> { ["Dataplane__Reporting__Interval"] = "00:00:01" });
        try
        {
            await Task.WhenAll([.. backends, node]);
        }
        catch
        {
            foreach (var started in backends.Where(t => t.IsCompletedSuccessfully))
            {
                await started.Result.DisposeAsync();
            }
            if (node.IsCompletedSuccessfully)
            {
                await node.Result.DisposeAsync();
            }
            await ControlPlane.DisposeAsync();
            await Sink.DisposeAsync();
            throw;
        }
        Backends = [.. backends.Select(b => b.Result)];
        Node = node.Result;
    }

    /// <summary>The agents' configuration for this platform.</summary>
    public AgentOptions Options => new()
    {
        SdBase = [new Uri(ControlPlane.GrpcAddress)],
        LbBase = HttpBase,
        Dataplanes = [NodeBase],
        UserChannel = Sink.Channel.ToString(),
        PlatformTokenVariable = TokenVariable,
        PlatformTokenFileVariable = TokenVariable + "_FILE",
        RequestTimeout = TimeSpan.FromSeconds(10),
        // Tests wait for state in loops; the limit itself is tested on its own.
        RateLimitQps = 200,
    };

    /// <summary>The environment cpctl gets for this platform (the token by its own variable).</summary>
    public Dictionary<string, string> CpctlEnvironment => new()
    {
        ["AGENT_SD_BASE"] = ControlPlane.GrpcAddress,
        ["AGENT_LB_BASE"] = HttpBase.ToString(),
        ["AGENT_DATAPLANES"] = NodeBase.ToString(),
        ["AGENT_USER_CHANNEL"] = Sink.Channel.ToString(),
        ["AGENT_PLATFORM_TOKEN"] = Token,
    };

    public AgentSession Session(AgentOptions? options = null, TimeProvider? time = null) => new(this, options ?? Options, time);

    public Task<string> ControlPlaneMetricsAsync() => ControlPlane.Client.GetStringAsync("/metrics").DefaultTimeout();

    /// <summary>
    /// Unary gRPC calls (REST included: it is transcoded onto them) the control plane has handled
    /// (rpc_server_calls_total, counted when a call ends); <paramref name="method"/> narrows it to one.
    /// Streams are left out: a heartbeat or discovery stream of an earlier scenario may end at any time.
    /// </summary>
    public async Task<double> GrpcCallsAsync(string? method = null) =>
        (await ControlPlaneMetricsAsync()).Split('\n')
            .Where(l => l.StartsWith("rpc_server_calls_total{", StringComparison.Ordinal) && !Streams.Any(s => l.Contains($"rpc_method=\"{s}\"", StringComparison.Ordinal)))
            .Where(l => method is null || l.Contains($"rpc_method=\"{method}\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    private static readonly string[] Streams = ["HeartbeatStream", "DeltaResources", "StreamResources", "ReportLoad"];

    /// <summary>Requests the dataplane node has proxied (controlplane_dataplane_requests_total).</summary>
    public async Task<double> ProxiedRequestsAsync() => Sum(await Node.MetricsAsync(), "controlplane_dataplane_requests_total{", null);

    /// <summary>The registry's view of an instance (GET /v1/instances/{id}), null when unknown.</summary>
    public async Task<JsonElement?> InstanceAsync(string id)
    {
        using var response = await ControlPlane.Client.GetAsync($"/v1/instances/{id}").DefaultTimeout();
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("instance").Clone();
    }

    /// <summary>The stored policy (GET /v1/policy/{image}), null when none.</summary>
    public async Task<JsonElement?> PolicyAsync(string image)
    {
        using var response = await ControlPlane.Client.GetAsync($"/v1/policy/{image}").DefaultTimeout();
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>Registers backends for <paramref name="image"/> directly over REST (ids: <c>{prefix}{backend}</c>), waits until the node routes to all of them, and deregisters them on dispose.</summary>
    public async Task<Fleet> RegisterAsync(string image, string prefix, IReadOnlyList<BackendProcess>? backends = null, int ttlSeconds = 600)
    {
        backends ??= Backends;
        var ids = backends.Select(b => prefix + b.InstanceId).ToArray();
        await Task.WhenAll(backends.Select((b, i) => ControlPlane.RegisterAsync(image, ids[i], b, ttlSeconds)));
        var fleet = new Fleet(this, ids);
        await WaitRoutedAsync(image, backends.Select(b => b.InstanceId).ToArray());
        return fleet;
    }

    /// <summary>Until the node has answered for <paramref name="image"/> from each backend.</summary>
    public async Task WaitRoutedAsync(string image, IReadOnlyCollection<string> backends)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await Eventually.WaitAsync($"the node routing {image} to {string.Join(", ", backends)}", async () =>
        {
            var answer = await Node.GetAsync(image, "/probe");
            if (answer.Instance is not null)
            {
                seen.Add(answer.Instance);
            }
            return backends.All(seen.Contains);
        });
    }

    public async ValueTask DisposeAsync()
    {
        IAsyncDisposable?[] disposables = [Node, .. Backends, ControlPlane, Sink];
        foreach (var disposable in disposables)
        {
            if (disposable is not null)
            {
                await disposable.DisposeAsync();
            }
        }
        Directory.Delete(_state, recursive: true);
    }

    private static double Sum(string exposition, string prefix, string? label) =>
        exposition.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal) && (label is null || l.Contains(label, StringComparison.Ordinal)))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
}

/// <summary>Instances a scenario registered; disposing deregisters those still registered.</summary>
public sealed class Fleet(AgentPlatform platform, string[] ids) : IAsyncDisposable
{
    public IReadOnlyList<string> Ids => ids;

    public async ValueTask DisposeAsync()
    {
        foreach (var id in ids)
        {
            if (await platform.InstanceAsync(id) is not null)
            {
                await platform.ControlPlane.DeregisterAsync(id);
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PlatformCollection : ICollectionFixture<AgentPlatform>
{
    public const string Name = "platform";
}
