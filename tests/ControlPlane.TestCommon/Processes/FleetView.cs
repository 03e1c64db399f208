using System.Text.Json;

namespace ControlPlane.TestCommon.Processes;

/// <summary>The control plane's GET /v1/dataplanes, read as a test needs it: per node and resource type, acknowledged and current versions.</summary>
public sealed class FleetView
{
    private readonly Dictionary<string, (string State, Dictionary<string, (string Acked, string Current)> Types)> _nodes;
    private readonly Dictionary<string, string> _controlPlanes;

    private FleetView(Dictionary<string, (string, Dictionary<string, (string, string)>)> nodes, Dictionary<string, string> controlPlanes)
    {
        _nodes = nodes;
        _controlPlanes = controlPlanes;
    }

    public static FleetView Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var nodes = new Dictionary<string, (string, Dictionary<string, (string, string)>)>(StringComparer.Ordinal);
        var controlPlanes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in document.RootElement.GetProperty("dataplanes").EnumerateArray())
        {
            var types = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
            foreach (var type in node.GetProperty("resource_types").EnumerateArray())
            {
                var url = type.GetProperty("type_url").GetString()!;
                types[url[(url.LastIndexOf('.') + 1)..]] = (type.GetProperty("version_acked").GetString() ?? "", type.GetProperty("version_current").GetString() ?? "");
            }
            var id = node.GetProperty("node").GetProperty("id").GetString()!;
            nodes[id] = (node.GetProperty("state").GetString()!, types);
            controlPlanes[id] = node.TryGetProperty("control_plane_id", out var replica) ? replica.GetString() ?? "" : "";
        }
        return new FleetView(nodes, controlPlanes);
    }

    /// <summary>Connected, and has acknowledged the control plane's current version of <paramref name="type"/>.</summary>
    public bool Synced(string nodeId, string type) =>
        _nodes.TryGetValue(nodeId, out var node)
        && node.State != "SYNC_STATE_DISCONNECTED"
        && node.Types.TryGetValue(type, out var versions)
        && versions.Acked.Length > 0
        && versions.Acked == versions.Current;

    /// <summary>The control plane's current version of <paramref name="type"/> for the node; null when it has no such stream.</summary>
    public string? Current(string nodeId, string type) =>
        _nodes.TryGetValue(nodeId, out var node) && node.Types.TryGetValue(type, out var versions) ? versions.Current : null;

    /// <summary>The replica holding the node's stream (control_plane_id); empty when disconnected, null when the node is not listed.</summary>
    public string? ControlPlaneId(string nodeId) => _controlPlanes.GetValueOrDefault(nodeId);
}
