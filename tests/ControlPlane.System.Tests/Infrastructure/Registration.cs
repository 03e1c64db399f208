namespace ControlPlane.System.Tests.Infrastructure;

/// <summary>A scenario's instances; disposing deregisters them and waits until the nodes have dropped them.</summary>
internal sealed class Registration(Platform platform, string[] ids) : IAsyncDisposable
{
    public IReadOnlyList<string> Ids => ids;

    public string this[int index] => ids[index];

    public async ValueTask DisposeAsync()
    {
        foreach (var id in ids)
        {
            platform.Heartbeats.Stop(id);
        }
        // An image has an endpoint set while it has any record (expired ones too, with no endpoint):
        // deregistering what is left changes it, so there is a push to wait for; with nothing left, none.
        var statuses = await Task.WhenAll(ids.Select(platform.ControlPlane.InstanceStatusAsync));
        var registered = ids.Where((_, i) => statuses[i] is not null).ToArray();
        Task Deregister() => Task.WhenAll(registered.Select(platform.ControlPlane.DeregisterAsync));
        if (registered.Length > 0)
        {
            await platform.ControlPlane.ChangeAsync("EndpointSet", platform.NodeIds, Deregister);
        }
        else
        {
            await Deregister();
        }
    }
}
