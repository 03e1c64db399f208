namespace ControlPlane.System.Tests.Infrastructure;

/// <summary>
/// What the scenarios share, started once for the test collection: the control plane, two dataplane
/// nodes configured by it, three backend instances, and a heartbeater for short leases. Each scenario
/// uses images of its own, so they do not see each other's traffic or config. Scenarios that kill
/// something shared start their own copy of it.
/// </summary>
public sealed class Platform : IAsyncLifetime
{
    private readonly string _stateRoot = Directory.CreateTempSubdirectory("controlplane-system-").FullName;
    private readonly List<IAsyncDisposable> _extras = [];
    private readonly List<ChildProcess> _extraProcesses = [];
    private int _disposed;

    internal ControlPlaneProcess ControlPlane { get; private set; } = null!;

    internal DataplaneNode Node1 { get; private set; } = null!;

    internal DataplaneNode Node2 { get; private set; } = null!;

    internal IReadOnlyList<DataplaneNode> Nodes => [Node1, Node2];

    internal IReadOnlyList<string> NodeIds => [Node1.NodeId, Node2.NodeId];

    internal IReadOnlyList<BackendProcess> Backends { get; private set; } = [];

    internal Heartbeater Heartbeats { get; private set; } = null!;

    /// <summary>Every process started for the tests so far (for the logs attached to a failure).</summary>
    internal IEnumerable<ChildProcess> Processes
    {
        get
        {
            lock (_extraProcesses)
            {
                return [ControlPlane.Process, Node1.Process, Node2.Process, .. Backends.Select(b => b.Process), .. _extraProcesses];
            }
        }
    }

    public async ValueTask InitializeAsync()
    {
        ControlPlane = await ControlPlaneProcess.StartAsync();
        Heartbeats = new Heartbeater(ControlPlane);
        Task<BackendProcess>[] backends = [BackendProcess.StartAsync("b1"), BackendProcess.StartAsync("b2"), BackendProcess.StartAsync("b3")];
        Task<DataplaneNode>[] nodes =
        [
            DataplaneNode.StartAsync("node-1", ControlPlane.GrpcAddress, StateDirectory("node-1")),
            DataplaneNode.StartAsync("node-2", ControlPlane.GrpcAddress, StateDirectory("node-2")),
        ];
        try
        {
            await Task.WhenAll([.. backends, .. nodes]);
        }
        catch
        {
            // What did start must not outlive the failure.
            foreach (var started in backends.Where(t => t.IsCompletedSuccessfully).Select(t => (IAsyncDisposable)t.Result)
                .Concat(nodes.Where(t => t.IsCompletedSuccessfully).Select(t => (IAsyncDisposable)t.Result)))
            {
                await started.DisposeAsync();
            }
            await DisposeAsync();
            throw;
        }
        Backends = [.. backends.Select(t => t.Result)];
        Node1 = nodes[0].Result;
        Node2 = nodes[1].Result;
    }

    /// <summary>A fresh state directory for a node (its last-known-good file).</summary>
    internal string StateDirectory(string nodeId) => Directory.CreateDirectory(Path.Combine(_stateRoot, nodeId + "-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    /// <summary>Keeps <paramref name="resource"/> until the collection ends (disposed then, before the shared processes).</summary>
    internal T Track<T>(T resource, ChildProcess process) where T : IAsyncDisposable
    {
        lock (_extraProcesses)
        {
            _extras.Add(resource);
            _extraProcesses.Add(process);
        }
        return resource;
    }

    /// <summary>
    /// Registers one instance of <paramref name="image"/> per backend (ids <c>{prefix}-{backend}</c>;
    /// dispose the result to deregister them: the registry lets one host:port belong to one live
    /// instance, so the next scenario can register the same backends),
    /// waits until both nodes acknowledged the change and route to every one of them. With
    /// <paramref name="keepAlive"/>, <see cref="Heartbeats"/> renews their leases from the moment they exist.
    /// </summary>
    internal async Task<Registration> RegisterAsync(string image, string prefix, IReadOnlyList<BackendProcess>? backends = null, int ttlSeconds = 600, bool keepAlive = false)
    {
        backends ??= Backends;
        var ids = backends.Select(b => $"{prefix}-{b.InstanceId}").ToArray();
        await ControlPlane.ChangeAsync("EndpointSet", NodeIds, async () =>
        {
            await Task.WhenAll(backends.Select((b, i) => ControlPlane.RegisterAsync(image, ids[i], b, ttlSeconds)));
            if (keepAlive)
            {
                Heartbeats.Start(ids);
            }
        });
        var registration = new Registration(this, ids);
        try
        {
            foreach (var node in Nodes)
            {
                await WaitRoutedAsync(node, image, backends.Select(b => b.InstanceId).ToArray());
            }
        }
        catch
        {
            await registration.DisposeAsync();
            throw;
        }
        return registration;
    }

    /// <summary>
    /// Until <paramref name="node"/> has answered from each of <paramref name="backends"/> (registrations
    /// sent together may reach a node in more than one push): the config is complete there.
    /// </summary>
    internal static async Task WaitRoutedAsync(DataplaneNode node, string image, IReadOnlyCollection<string> backends)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await Eventually.WaitAsync($"{node.NodeId} routing {image} to {string.Join(", ", backends)}", async () =>
        {
            var answer = await node.GetAsync(image, "/probe", "x-probe", Guid.NewGuid().ToString("N"));
            if (answer.Instance is not null)
            {
                seen.Add(answer.Instance);
            }
            return backends.All(seen.Contains);
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        // Every process goes, whatever fails on the way.
        var disposables = new List<IAsyncDisposable?> { Heartbeats };
        lock (_extraProcesses)
        {
            disposables.AddRange(_extras);
        }
        disposables.AddRange([Node1, Node2, .. Backends, ControlPlane]);
        var failures = new List<Exception>();
        foreach (var disposable in disposables)
        {
            try
            {
                if (disposable is not null)
                {
                    await disposable.DisposeAsync();
                }
            }
#pragma warning disable CA1031 // collected and rethrown once everything is stopped
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failures.Add(ex);
            }
        }
        Directory.Delete(_stateRoot, recursive: true);
        if (failures.Count > 0)
        {
            throw new AggregateException("Stopping the system-test processes failed", failures);
        }
    }
}
