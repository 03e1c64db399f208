using System.Globalization;
using System.Net;

namespace ControlPlane.TestCommon.Processes;

/// <summary>
/// A dataplane node (ControlPlane.Dataplane.dll) in its own process: the proxy on a free loopback
/// port, configured by one control plane, its last-known-good config in its own state directory.
/// Ready (started) once /readyz says it holds a configuration.
/// </summary>
public sealed class DataplaneNode : IAsyncDisposable
{
    /// <summary>Consecutive failures that eject an endpoint (the product's default is 5; fewer keeps tests short).</summary>
    public const int ConsecutiveFailures = 3;

    private readonly IReadOnlyDictionary<string, string> _settings;

    private DataplaneNode(string nodeId, IReadOnlyList<string> controlPlanes, IReadOnlyDictionary<string, string> settings, string stateDirectory, int port, ChildProcess process)
    {
        NodeId = nodeId;
        ControlPlanes = controlPlanes;
        _settings = settings;
        StateDirectory = stateDirectory;
        Port = port;
        Process = process;
        Client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, UseCookies = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            Timeout = TimeSpan.FromSeconds(20),
        };
    }

    public string NodeId { get; }

    /// <summary>The control plane it tries first.</summary>
    public string ControlPlane => ControlPlanes[0];

    /// <summary>Every control plane it was given, in the order it tries them.</summary>
    public IReadOnlyList<string> ControlPlanes { get; }

    public string StateDirectory { get; }

    public int Port { get; }

    public ChildProcess Process { get; }

    public HttpClient Client { get; }

    /// <summary>Starts a node; <paramref name="settings"/> adds or overrides environment variables (e.g. a shorter Dataplane__Reporting__Interval).</summary>
    public static Task<DataplaneNode> StartAsync(string nodeId, string controlPlane, string stateDirectory, IReadOnlyDictionary<string, string>? settings = null) =>
        StartAsync(nodeId, [controlPlane], stateDirectory, settings ?? new Dictionary<string, string>());

    /// <summary>
    /// A node given every one of <paramref name="controlPlanes"/> (Dataplane__ControlPlanes__0, 1 ...:
    /// it uses the first that answers and fails over in that order), with more configuration in <paramref name="settings"/>.
    /// </summary>
    public static Task<DataplaneNode> StartAsync(string nodeId, IReadOnlyList<string> controlPlanes, string stateDirectory, IReadOnlyDictionary<string, string> settings) =>
        ChildProcessStart.WithFreshPortsAsync(async () =>
        {
            var port = FreePorts.Next();
            var environment = new Dictionary<string, string>
            {
                ["Dataplane__HttpPort"] = port.ToString(CultureInfo.InvariantCulture),
                ["Dataplane__Http2Port"] = "-1",
                ["Dataplane__BindAddress"] = "127.0.0.1",
                ["Dataplane__NodeId"] = nodeId,
                ["Dataplane__StateDirectory"] = stateDirectory,
                // A restarted node waits this long for a control plane before serving its last-known-good config.
                ["Dataplane__LastKnownGoodAfter"] = "00:00:01",
                ["Dataplane__PassiveHealth__ConsecutiveFailures"] = ConsecutiveFailures.ToString(CultureInfo.InvariantCulture),
                // Scenarios choose which replica each node uses first: the order given, not a random start.
                ["Dataplane__StartAtRandomControlPlane"] = "false",
            };
            for (var i = 0; i < controlPlanes.Count; i++)
            {
                environment[$"Dataplane__ControlPlanes__{i}"] = controlPlanes[i];
            }
            foreach (var (key, value) in settings)
            {
                environment[key] = value;
            }
            var process = await ChildProcess.StartAsync("dataplane-" + nodeId, Binaries.Dataplane, environment, new Uri($"http://127.0.0.1:{port}/readyz"));
            return new DataplaneNode(nodeId, controlPlanes, settings, stateDirectory, port, process);
        });

    /// <summary>The same node (id, control planes, settings, state directory) started again, as after a crash.</summary>
    public async Task<DataplaneNode> RestartAsync()
    {
        await DisposeAsync();
        return await StartAsync(NodeId, ControlPlanes, StateDirectory, _settings);
    }

    /// <summary>
    /// 1 when the node's discovery stream to <paramref name="controlPlane"/> is open and has answered
    /// (its /metrics: controlplane_dataplane_control_plane_connected{address}).
    /// </summary>
    public async Task<bool> ConnectedToAsync(string controlPlane) =>
        MetricSamples.Find(await MetricsAsync(), $"controlplane_dataplane_control_plane_connected{{address=\"{controlPlane}\"}}") == 1;

    /// <summary>GET /g/{image}{path} through this node.</summary>
    public async Task<ProxyAnswer> GetAsync(string image, string path = "/x", string? stickyKey = null, string? stickyValue = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/g/{image}{path}");
        if (stickyKey is not null)
        {
            request.Headers.Add(stickyKey, stickyValue);
        }
        return await SendAsync(request);
    }

    public async Task<ProxyAnswer> SendAsync(HttpRequestMessage request)
    {
        using var response = await Client.SendAsync(request).DefaultTimeout();
        var body = await response.Content.ReadAsStringAsync().DefaultTimeout();
        var instance = response.Headers.TryGetValues("X-Instance-Id", out var values) ? values.Single() : null;
        return new ProxyAnswer(response.StatusCode, instance, body);
    }

    public Task<string> MetricsAsync() => Client.GetStringAsync("/metrics").DefaultTimeout();

    public Task KillAsync() => Process.KillAsync();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Process.DisposeAsync();
    }
}

/// <summary>What a client got through a node: the status and, when an instance answered, its id.</summary>
public sealed record ProxyAnswer(HttpStatusCode Status, string? Instance, string Body);
