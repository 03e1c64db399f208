using System.Threading.Channels;
using ControlPlane.Grpc.Server;
using Grpc.Health.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace ControlPlane.Grpc.Health;

/// <summary>
/// The serving status of the server ("") and of each bound service. Every bound service starts
/// SERVING; the host flips them (e.g. NOT_SERVING before it is ready). When the host stops,
/// <see cref="EnterTerminalState"/> makes every status NOT_SERVING for good and ends every Watch.
/// </summary>
public sealed class HealthStatusRegistry
{
    private readonly object _lock = new();
    private readonly Dictionary<string, ServingStatus> _statuses = new(StringComparer.Ordinal) { [""] = ServingStatus.Serving };
    private readonly Dictionary<string, List<ChannelWriter<ServingStatus>>> _watchers = new(StringComparer.Ordinal);
    private bool _terminal;

    public HealthStatusRegistry(GrpcServiceRegistry services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.ServiceAdded += s => SetStatus(s.FullName, ServingStatus.Serving);
        foreach (var s in services.Services)
        {
            SetStatus(s.FullName, ServingStatus.Serving);
        }
    }

    /// <summary>The status of a service, or null when it is unknown.</summary>
    public ServingStatus? GetStatus(string service)
    {
        lock (_lock)
        {
            return _statuses.TryGetValue(service, out var s) ? s : null;
        }
    }

    public void SetStatus(string service, ServingStatus status)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_lock)
        {
            if (_terminal || (_statuses.TryGetValue(service, out var old) && old == status))
            {
                return;
            }
            _statuses[service] = status;
            if (_watchers.TryGetValue(service, out var list))
            {
                foreach (var w in list)
                {
                    w.TryWrite(status);
                }
            }
        }
    }

    /// <summary>Sets every known service, and the server, to <paramref name="status"/>.</summary>
    public void SetAll(ServingStatus status)
    {
        string[] names;
        lock (_lock)
        {
            names = [.. _statuses.Keys];
        }
        foreach (var name in names)
        {
            SetStatus(name, status);
        }
    }

    /// <summary>
    /// The server is shutting down: every status is NOT_SERVING from now on (later changes are
    /// ignored), and every Watch, open or opened later, is sent NOT_SERVING and then ended with
    /// UNAVAILABLE, so a client watching its backends moves on at once and the server's connections
    /// drain without waiting for watchers to leave (a Watch never ends on its own).
    /// </summary>
    public void EnterTerminalState()
    {
        lock (_lock)
        {
            if (_terminal)
            {
                return;
            }
            foreach (var name in _statuses.Keys.ToArray())
            {
                _statuses[name] = ServingStatus.NotServing;
            }
            _terminal = true;
            foreach (var list in _watchers.Values)
            {
                foreach (var watcher in list)
                {
                    End(watcher);
                }
            }
            _watchers.Clear();
        }
    }

    private static void End(ChannelWriter<ServingStatus> watcher)
    {
        watcher.TryWrite(ServingStatus.NotServing);
        watcher.TryComplete(new RpcException(StatusCode.Unavailable, "The server is shutting down; watch another server."));
    }

    /// <summary>
    /// Subscribes to a service's status. The channel keeps only the latest status, so a slow
    /// watcher sees the current state, never a growing backlog.
    /// </summary>
    internal ChannelReader<ServingStatus> Watch(string service, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<ServingStatus>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_lock)
        {
            if (_terminal)
            {
                End(channel.Writer);
                return channel.Reader;
            }
            channel.Writer.TryWrite(_statuses.TryGetValue(service, out var s) ? s : ServingStatus.ServiceUnknown);
            if (!_watchers.TryGetValue(service, out var list))
            {
                _watchers[service] = list = [];
            }
            list.Add(channel.Writer);
        }
        cancellationToken.Register(() =>
        {
            lock (_lock)
            {
                if (_watchers.TryGetValue(service, out var list))
                {
                    list.Remove(channel.Writer);
                    if (list.Count == 0)
                    {
                        _watchers.Remove(service);
                    }
                }
            }
            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }

    internal int WatcherCount
    {
        get
        {
            lock (_lock)
            {
                return _watchers.Values.Sum(l => l.Count);
            }
        }
    }
}
