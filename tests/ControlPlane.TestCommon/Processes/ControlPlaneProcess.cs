using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit;

namespace ControlPlane.TestCommon.Processes;

/// <summary>
/// The control plane (ControlPlane.Server.dll) in its own process with the embedded store, on free
/// loopback ports, driven over REST as an operator would: registrations, policies (with the admin
/// token), and the fleet view to know when a change has reached every node.
/// </summary>
public sealed class ControlPlaneProcess : IAsyncDisposable
{
    public const string AdminToken = "system-tests-admin-token";

    private readonly string _name;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly int _grpcPort;
    private readonly int _httpPort;

    private ControlPlaneProcess(string name, IReadOnlyDictionary<string, string> settings, ChildProcess process, int grpcPort, int httpPort)
    {
        (_name, _settings, _grpcPort, _httpPort) = (name, settings, grpcPort, httpPort);
        Process = process;
        GrpcAddress = $"http://127.0.0.1:{grpcPort}";
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public ChildProcess Process { get; }

    /// <summary>What nodes are given as Dataplane__ControlPlanes__0.</summary>
    public string GrpcAddress { get; }

    /// <summary>REST and ops.</summary>
    public HttpClient Client { get; }

    /// <summary>Starts the control plane; <paramref name="settings"/> adds or overrides environment variables (e.g. another PLATFORM_TOKEN).</summary>
    public static Task<ControlPlaneProcess> StartAsync(IReadOnlyDictionary<string, string>? settings = null) => StartAsync("controlplane", settings ?? new Dictionary<string, string>());

    /// <summary>
    /// A control plane named <paramref name="name"/> in the logs, with more configuration in
    /// <paramref name="settings"/> (e.g. a replica: the Redis store and its ControlPlaneId).
    /// </summary>
    public static Task<ControlPlaneProcess> StartAsync(string name, IReadOnlyDictionary<string, string> settings) =>
        ChildProcessStart.WithFreshPortsAsync(() => StartOnAsync(name, settings, FreePorts.Next(), FreePorts.Next()));

    /// <summary>
    /// A new process on this one's ports and settings (stop or kill this one first): a control plane
    /// restarted in place, as nodes and instances see it. On the embedded store it starts empty.
    /// </summary>
    public Task<ControlPlaneProcess> RestartAsync() => StartOnAsync(_name + "-restarted", _settings, _grpcPort, _httpPort);

    private static async Task<ControlPlaneProcess> StartOnAsync(string name, IReadOnlyDictionary<string, string> settings, int grpc, int http)
    {
        var environment = new Dictionary<string, string>
        {
            ["ControlPlane__GrpcPort"] = grpc.ToString(CultureInfo.InvariantCulture),
            ["ControlPlane__HttpPort"] = http.ToString(CultureInfo.InvariantCulture),
            ["ControlPlane__BindAddress"] = "127.0.0.1",
            ["PLATFORM_TOKEN"] = AdminToken,
            // Expiry is under test, not Eureka's self-preservation (a small fleet's one expiry is a large share).
            ["ControlPlane__Registry__SelfPreservation__Enabled"] = "false",
        };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }
        var process = await ChildProcess.StartAsync(name, Binaries.ControlPlane, environment, new Uri($"http://127.0.0.1:{http}/readyz"));
        return new ControlPlaneProcess(name, settings, process, grpc, http);
    }

    /// <summary>Registers <paramref name="backend"/> as <paramref name="instanceId"/> of <paramref name="image"/> (POST /v1/services/register).</summary>
    public Task RegisterAsync(string image, string instanceId, BackendProcess backend, int ttlSeconds = 600, string? requestId = null) =>
        RegisterAsync(image, instanceId, backend.Port, ttlSeconds, requestId);

    public async Task RegisterAsync(string image, string instanceId, int port, int ttlSeconds = 600, string? requestId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/services/register")
        {
            Content = JsonContent.Create(new Dictionary<string, object>
            {
                ["name"] = image + "-svc",
                ["image"] = image,
                ["instance_id"] = instanceId,
                ["host"] = "127.0.0.1",
                ["port"] = port,
                ["region"] = "local",
                ["ttl_seconds"] = ttlSeconds,
            }),
        };
        if (requestId is not null)
        {
            request.Headers.Add("X-Request-ID", requestId);
        }
        await SendAsync(request);
    }

    public async Task HeartbeatAsync(string instanceId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/services/{instanceId}/heartbeat") { Content = JsonContent.Create(new { }) };
        await SendAsync(request);
    }

    public async Task DeregisterAsync(string instanceId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/v1/services/{instanceId}");
        await SendAsync(request);
    }

    /// <summary>PUT /v1/policy/{image} with the admin token, as the README's curl does.</summary>
    public async Task SetPolicyAsync(string image, string algorithm, IReadOnlyDictionary<string, int>? weights = null, string? stickyKey = null)
    {
        var body = new Dictionary<string, object> { ["algorithm"] = algorithm };
        if (weights is not null)
        {
            body["weights"] = weights;
        }
        if (stickyKey is not null)
        {
            body["sticky_key"] = stickyKey;
        }
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/policy/{image}") { Content = JsonContent.Create(body) };
        request.Headers.Add("X-Platform-Token", AdminToken);
        await SendAsync(request);
    }

    /// <summary>The registry's status of an instance (GET /v1/instances/{id}): healthy, expired ...; null when it is not registered.</summary>
    public async Task<string?> InstanceStatusAsync(string instanceId)
    {
        using var response = await Client.GetAsync($"/v1/instances/{instanceId}").DefaultTimeout();
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        var json = await response.Content.ReadFromJsonAsync<JsonElement>().DefaultTimeout();
        Assert.True(response.IsSuccessStatusCode, json.ToString());
        return json.GetProperty("instance").GetProperty("status").GetString()!;
    }

    /// <summary>GET /v1/dataplanes: per node, per resource type, the versions sent, acknowledged and current.</summary>
    public async Task<FleetView> FleetAsync()
    {
        var json = await Client.GetStringAsync("/v1/dataplanes").DefaultTimeout();
        return FleetView.Parse(json);
    }

    /// <summary>
    /// Runs <paramref name="change"/> and waits until every one of <paramref name="nodeIds"/> has
    /// acknowledged a new version of <paramref name="resourceType"/> ("EndpointSet", "RoutingPolicy")
    /// that is the control plane's current one: the change has been pushed and applied (a node swaps
    /// its config before it ACKs). For one change this is exact; a batch of changes may be pushed in
    /// more than one version, so callers that make several confirm the outcome on the nodes.
    /// </summary>
    public async Task ChangeAsync(string resourceType, IReadOnlyCollection<string> nodeIds, Func<Task> change)
    {
        var before = await FleetAsync();
        await change();
        await Eventually.WaitAsync(
            $"{resourceType} change acknowledged by {string.Join(", ", nodeIds)}",
            async () =>
            {
                var now = await FleetAsync();
                return nodeIds.All(id => now.Synced(id, resourceType) && now.Current(id, resourceType) != before.Current(id, resourceType));
            },
            describe: async () => "GET /v1/dataplanes: " + await Client.GetStringAsync("/v1/dataplanes"));
    }

    public Task KillAsync() => Process.KillAsync();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Process.DisposeAsync();
    }

    private async Task SendAsync(HttpRequestMessage request)
    {
        using var response = await Client.SendAsync(request).DefaultTimeout();
        if (!response.IsSuccessStatusCode)
        {
            Assert.Fail($"{request.Method} {request.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}
