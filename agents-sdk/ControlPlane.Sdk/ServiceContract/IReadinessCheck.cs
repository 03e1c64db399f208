namespace ControlPlane.Sdk.ServiceContract;

/// <summary>One condition of an agent service's <c>/ready</c>: register implementations as <c>IReadinessCheck</c> singletons.</summary>
public interface IReadinessCheck
{
    /// <summary>Short name shown in the <c>/ready</c> body (e.g. "control_plane").</summary>
    string Name { get; }

    /// <summary>Whether the service can do its work now. A throw or a timeout counts as not ready.</summary>
    Task<ReadinessResult> CheckAsync(CancellationToken cancellationToken);
}

/// <summary>The outcome of one readiness check.</summary>
/// <param name="IsReady">True when the condition holds.</param>
/// <param name="Detail">Why not (shown in the <c>/ready</c> body); null when ready.</param>
public readonly record struct ReadinessResult(bool IsReady, string? Detail = null)
{
    /// <summary>Ready.</summary>
    public static ReadinessResult Ready() => new(true);

    /// <summary>Not ready, because of <paramref name="detail"/>.</summary>
    public static ReadinessResult NotReady(string detail) => new(false, detail);
}
