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
