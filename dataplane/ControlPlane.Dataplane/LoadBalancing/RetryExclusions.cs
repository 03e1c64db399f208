using ControlPlane.Dataplane.Configuration;
using ControlPlane.LoadBalancing;

namespace ControlPlane.Dataplane.LoadBalancing;

/// <summary>
/// The image's passive health plus the endpoints one request already tried, so a retry goes to
/// another endpoint when one is left (the panic threshold may still hand back a tried one: the
/// caller then stops retrying). Allocated only when a request is retried.
/// </summary>
internal sealed class RetryExclusions(ImageRoute route) : IEndpointHealth
{
    private readonly IEndpointHealth _health = route;
    private readonly List<int> _tried = new(2);

    public int EjectedCount => _health.EjectedCount + _tried.Count;

    public bool IsEjected(int endpointIndex) => _tried.Contains(endpointIndex) || _health.IsEjected(endpointIndex);

    public bool Tried(int endpointIndex) => _tried.Contains(endpointIndex);

    public void Add(int endpointIndex) => _tried.Add(endpointIndex);
}
