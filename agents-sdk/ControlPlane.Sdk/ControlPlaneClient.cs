using ControlPlane.Sdk.Clients;
using ControlPlane.Sdk.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Sdk;

/// <summary>
/// The typed clients of every controlplane.v1 service over one set of channels (one per address).
/// Create one per process and share it (or register it with
/// <see cref="ControlPlaneClientServiceCollectionExtensions.AddControlPlaneClient"/>); dispose it
/// at the end to close its connections.
/// </summary>
public sealed class ControlPlaneClient : IDisposable
{
    private readonly ControlPlaneInvoker _invoker;

    private ControlPlaneClient(ControlPlaneInvoker invoker)
    {
        _invoker = invoker;
        Registry = new RegistryClient(invoker);
        Policies = new PolicyClient(invoker);
        Routes = new RouteClient(invoker);
        Dataplanes = new DataplaneClient(invoker);
        Stats = new StatsClient(invoker);
        Billing = new BillingClient(invoker);
        Discovery = new DiscoveryClient(invoker);
        LoadReports = new LoadReportClient(invoker);
    }

    /// <summary>
    /// A client for <paramref name="options"/>. Tokens are read now, from the variables the options
    /// name (so a missing or unreadable token file fails here, not at the first admin call).
    /// </summary>
    /// <param name="options">Addresses, timeouts, retries, token variables.</param>
    /// <param name="time">Clock for deadlines and backoff delays; default the system clock.</param>
    /// <param name="loggerFactory">Where the client logs failovers and retries; default nowhere.</param>
    public static ControlPlaneClient Create(ControlPlaneClientOptions options, TimeProvider? time = null, ILoggerFactory? loggerFactory = null) =>
        Create(options, time, loggerFactory, random: null, getVariable: null);

    /// <summary>A client for <paramref name="options"/>, drawing its randomness (retry jitter, the start address) from <paramref name="random"/>.</summary>
    /// <param name="options">Addresses, timeouts, retries, token variables.</param>
    /// <param name="time">Clock for deadlines and backoff delays; default the system clock.</param>
    /// <param name="loggerFactory">Where the client logs failovers and retries; default nowhere.</param>
    /// <param name="random">Jitter and <see cref="ControlPlaneClientOptions.StartAtRandomAddress"/> source; default <see cref="Random.Shared"/>.</param>
    public static ControlPlaneClient Create(ControlPlaneClientOptions options, TimeProvider? time, ILoggerFactory? loggerFactory, Random? random) =>
        Create(options, time, loggerFactory, random, getVariable: null);

    internal static ControlPlaneClient Create(ControlPlaneClientOptions options, TimeProvider? time, ILoggerFactory? loggerFactory, Random? random, Func<string, string?>? getVariable) =>
        new(new ControlPlaneInvoker(options, time ?? TimeProvider.System, loggerFactory ?? NullLoggerFactory.Instance, random, getVariable));

    /// <summary>Calls any method by descriptor, with the same addresses, tokens, deadlines and retries.</summary>
    public IControlPlaneInvoker Invoker => _invoker;

    /// <summary>controlplane.v1.RegistryService.</summary>
    public IRegistryClient Registry { get; }

    /// <summary>controlplane.v1.PolicyService.</summary>
    public IPolicyClient Policies { get; }

    /// <summary>controlplane.v1.RouteService.</summary>
    public IRouteClient Routes { get; }

    /// <summary>controlplane.v1.DataplaneService (the fleet view).</summary>
    public IDataplaneClient Dataplanes { get; }

    /// <summary>controlplane.v1.StatsService.</summary>
    public IStatsClient Stats { get; }

    /// <summary>controlplane.v1.BillingService.</summary>
    public IBillingClient Billing { get; }

    /// <summary>controlplane.v1.DiscoveryService (raw streams).</summary>
    public IDiscoveryClient Discovery { get; }

    /// <summary>controlplane.v1.LoadReportService (raw stream).</summary>
    public ILoadReportClient LoadReports { get; }

    /// <summary>Closes the connections; calls still open end with CANCELLED.</summary>
    public void Dispose() => _invoker.Dispose();
}
