using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Server;

/// <summary>The services bound on this server: what reflection lists and health reports on.</summary>
public sealed class GrpcServiceRegistry
{
    private readonly List<ServiceDescriptor> _services = [];
    private readonly object _lock = new();

    public event Action<ServiceDescriptor>? ServiceAdded;

    public IReadOnlyList<ServiceDescriptor> Services
    {
        get
        {
            lock (_lock)
            {
                return _services.ToArray();
            }
        }
    }

    public bool Contains(string fullName)
    {
        lock (_lock)
        {
            return _services.Any(s => s.FullName == fullName);
        }
    }

    private readonly HashSet<object> _catchAllMapped = new(ReferenceEqualityComparer.Instance);

    /// <summary>True the first time for a given route builder: the UNIMPLEMENTED catch-all is mapped once each.</summary>
    internal bool TryMarkCatchAllMapped(object routeBuilder)
    {
        lock (_lock)
        {
            return _catchAllMapped.Add(routeBuilder);
        }
    }

    internal void Add(ServiceDescriptor service)
    {
        lock (_lock)
        {
            if (_services.Any(s => s.FullName == service.FullName))
            {
                throw new InvalidOperationException($"gRPC service '{service.FullName}' is already bound.");
            }
            _services.Add(service);
        }
        ServiceAdded?.Invoke(service);
    }
}
