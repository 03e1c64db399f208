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

    private DataplaneNode(string nodeId, string controlPlane, string stateDirectory, int port, ChildProcess process)
    {
        NodeId = nodeId;
        ControlPlane = controlPlane;
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

    /// <summary>The environment it was started with beyond the defaults (kept for a restart).</summary>
    public IReadOnlyDictionary<string, string>? Settings { get; private init; }

    public string ControlPlane { get; }

    public string StateDirectory { get; }

    public int Port { get; }

    public ChildProcess Process { get; }

    public HttpClient Client { get; }

    /// <summary>Starts a node; <paramref name="settings"/> adds or overrides environment variables (e.g. a shorter Dataplane__Reporting__Interval).</summary>
    public static Task<DataplaneNode> StartAsync(string nodeId, string controlPlane, string stateDirectory, IReadOnlyDictionary<string, string>? settings = null) => ChildProcessStart.WithFreshPortsAsync(async () =>
    {
        var port = FreePorts.Next();
        var environment = new Dictionary<string, string>
        {
            ["Dataplane__HttpPort"] = port.ToString(CultureInfo.InvariantCulture),
            ["Dataplane__Http2Port"] = "-1",
            ["Dataplane__BindAddress"] = "127.0.0.1",
            ["Dataplane__ControlPlanes__0"] = controlPlane,
            ["Dataplane__NodeId"] = nodeId,
            ["Dataplane__StateDirectory"] = stateDirectory,
            // A restarted node waits this long for a control plane before serving its last-known-good config.
            ["Dataplane__LastKnownGoodAfter"] = "00:00:01",
            ["Dataplane__PassiveHealth__ConsecutiveFailures"] = ConsecutiveFailures.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }
        var process = await ChildProcess.StartAsync("dataplane-" + nodeId, Binaries.Dataplane, environment, new Uri($"http://127.0.0.1:{port}/readyz"));
        return new DataplaneNode(nodeId, controlPlane, stateDirectory, port, process) { Settings = settings };
    });

    /// <summary>The same node (id, control plane, state directory) started again, as after a crash.</summary>
    public async Task<DataplaneNode> RestartAsync()
    {
        await DisposeAsync();
        return await StartAsync(NodeId, ControlPlane, StateDirectory, Settings);
    }

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
