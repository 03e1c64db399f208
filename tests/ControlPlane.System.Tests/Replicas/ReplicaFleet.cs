using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Replicas;

/// <summary>
/// Control-plane replicas as the README runs them: separate processes (ids cp-a, cp-b ...) on one
/// real redis-server started for the scenario, and dataplane nodes each given every replica's
/// address, in an order of the scenario's choosing (the first that answers is used). Everything is
/// stopped on dispose, whatever failed on the way, and also when starting it fails half-way.
/// </summary>
internal sealed class ReplicaFleet : IAsyncDisposable
{
    private readonly List<ControlPlaneProcess> _replicas = [];
    private readonly List<DataplaneNode> _nodes = [];
    private readonly Platform _platform;

    private ReplicaFleet(Platform platform, RedisServer redis)
    {
        _platform = platform;
        Redis = redis;
    }

    public RedisServer Redis { get; }

    public IReadOnlyList<ControlPlaneProcess> Replicas => _replicas;

    public IReadOnlyList<DataplaneNode> Nodes => _nodes;

    public IReadOnlyList<string> NodeIds => [.. _nodes.Select(n => n.NodeId)];

    public ControlPlaneProcess this[int replica] => _replicas[replica];

    /// <summary>The scenario's processes and the shared backends (for the logs of a failure).</summary>
    public IEnumerable<ChildProcess> Processes => [.. _replicas.Select(r => r.Process), .. _nodes.Select(n => n.Process), .. _platform.Backends.Select(b => b.Process)];

    /// <summary>The replica's id (ControlPlane__Discovery__ControlPlaneId): cp-a, cp-b ...</summary>
    public static string ReplicaId(int replica) => $"cp-{(char)('a' + replica)}";

    /// <summary>
    /// Starts redis-server (skipped where it is missing, failed in CI), <paramref name="replicas"/>
    /// replicas on it, and one node per entry of <paramref name="nodeOrders"/>: the replicas (by index)
    /// it is given, in that order. <paramref name="redisUrls"/> may give replicas (by index) another way to
    /// the server than its own URL (a relay that can cut one off).
    /// </summary>
    public static async Task<ReplicaFleet> StartAsync(
        Platform platform,
        int replicas,
        IReadOnlyList<int[]> nodeOrders,
        IReadOnlyDictionary<string, string>? replicaSettings = null,
        IReadOnlyDictionary<string, string>? nodeSettings = null,
        Func<RedisServer, IReadOnlyDictionary<int, string>>? redisUrls = null)
    {
        var redis = await RedisServer.StartAsync();
        var fleet = new ReplicaFleet(platform, redis);
        try
        {
            var urls = redisUrls?.Invoke(redis) ?? new Dictionary<int, string>();
            var starting = Enumerable.Range(0, replicas).Select(i => ControlPlaneProcess.StartAsync(ReplicaId(i), ReplicaSettings(redis, i, replicaSettings, urls.GetValueOrDefault(i)))).ToArray();
            try
            {
                await StartedAsync(starting, fleet._replicas);
            }
            catch (ChildProcessException ex)
            {
                // A replica that never became ready: say what Redis and the replicas that did start saw.
                throw new InvalidOperationException(ex.Message + Environment.NewLine + await StartFailureContextAsync(redis, fleet._replicas), ex);
            }
            var started = fleet._replicas;
            var nodes = nodeOrders.Select((order, i) =>
            {
                var id = $"replica-node-{i + 1}";
                return DataplaneNode.StartAsync(id, [.. order.Select(r => started[r].GrpcAddress)], platform.StateDirectory(id), nodeSettings ?? new Dictionary<string, string>());
            }).ToArray();
            await StartedAsync(nodes, fleet._nodes);
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }
        return fleet;
    }

    /// <summary>Redis's clients and stats, and the last lines of each replica that started, for a failed start.</summary>
    private static async Task<string> StartFailureContextAsync(RedisServer redis, IReadOnlyList<ControlPlaneProcess> started)
    {
        var context = new global::System.Text.StringBuilder();
        foreach (var command in new[] { "CLIENT LIST", "INFO stats" })
        {
            context.AppendLine($"redis-cli {command}:");
            try
            {
                using var cli = global::System.Diagnostics.Process.Start(new global::System.Diagnostics.ProcessStartInfo("redis-cli", ["-p", redis.Port.ToString(global::System.Globalization.CultureInfo.InvariantCulture), .. command.Split(' ')])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                })!;
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                context.AppendLine(await cli.StandardOutput.ReadToEndAsync(timeout.Token));
                await cli.WaitForExitAsync(timeout.Token);
            }
            catch (Exception ex)
            {
                context.AppendLine($"(failed: {ex.Message})");
            }
        }
        foreach (var replica in started)
        {
            context.AppendLine($"{replica.Process.Name} (started), its last lines:");
            context.AppendLine(string.Join(Environment.NewLine, replica.Process.Lines.TakeLast(15)));
        }
        return context.ToString();
    }

    /// <summary>Waits for every start; keeps what started in <paramref name="started"/> (in order) even when one failed, so that it is stopped too.</summary>
    private static async Task StartedAsync<T>(Task<T>[] starting, List<T> started)
    {
        try
        {
            await Task.WhenAll(starting);
        }
        finally
        {
            started.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
        }
    }

    private static Dictionary<string, string> ReplicaSettings(RedisServer redis, int replica, IReadOnlyDictionary<string, string>? extra, string? redisUrl)
    {
        var settings = new Dictionary<string, string>
        {
            ["ControlPlane__Store__Kind"] = "redis",
            ["ControlPlane__Store__Redis__Url"] = redisUrl ?? redis.Url,
            ["ControlPlane__Discovery__ControlPlaneId"] = ReplicaId(replica),
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }
        return settings;
    }

    /// <summary>Until every node given in <paramref name="nodes"/> has its discovery stream open on <paramref name="replica"/> (its own /metrics).</summary>
    public static Task WaitConnectedAsync(ControlPlaneProcess replica, params DataplaneNode[] nodes) =>
        Eventually.WaitAsync($"{string.Join(", ", nodes.Select(n => n.NodeId))} connected to {replica.Process.Name}", async () =>
        {
            var connected = await Task.WhenAll(nodes.Select(n => n.ConnectedToAsync(replica.GrpcAddress)));
            return connected.All(c => c);
        });

    /// <summary>Lines the replicas logged for expiring an instance (RegistryLog.Expired, event 3002 of the registry).</summary>
    public IEnumerable<string> ExpiryLines() =>
        _replicas.SelectMany(r => r.Process.Lines).Where(l => l.Contains("\"event_id\":3002", StringComparison.Ordinal) && l.Contains("expired: no heartbeat", StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        var failures = new List<Exception>();
        foreach (var disposable in _nodes.Cast<IAsyncDisposable>().Concat(_replicas).Append(Redis))
        {
            try
            {
                await disposable.DisposeAsync();
            }
#pragma warning disable CA1031 // collected and rethrown once everything is stopped
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failures.Add(ex);
            }
        }
        if (failures.Count > 0)
        {
            throw new AggregateException("Stopping the replica fleet failed", failures);
        }
    }
}
