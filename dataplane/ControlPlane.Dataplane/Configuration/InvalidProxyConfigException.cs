namespace ControlPlane.Dataplane.Configuration;

/// <summary>A configuration the node refuses to use; <see cref="Errors"/> says why, one line per problem.</summary>
public sealed class InvalidProxyConfigException(IReadOnlyList<string> errors)
    : ArgumentException("Invalid proxy configuration: " + string.Join("; ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
