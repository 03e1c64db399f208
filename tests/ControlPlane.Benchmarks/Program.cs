using System.Runtime.InteropServices;
using ControlPlane.Benchmarks.Fanout;
using ControlPlane.Benchmarks.GrpcRuntime;
using ControlPlane.Benchmarks.Proxy;
using ControlPlane.Benchmarks.Redis;
using ControlPlane.Benchmarks.Registry;

// Benchmarks run from the repository root, in Release, with nothing else building on the machine:
//   dotnet run -c Release --project tests/ControlPlane.Benchmarks -- grpc-runtime
//   dotnet run -c Release --project tests/ControlPlane.Benchmarks -- registry
//   dotnet run -c Release --project tests/ControlPlane.Benchmarks -- fanout
//   dotnet run -c Release --project tests/ControlPlane.Benchmarks -- proxy
//   dotnet run -c Release --project tests/ControlPlane.Benchmarks -- redis
using var stop = new CancellationTokenSource();
// On Ctrl-C or SIGTERM, unwind through the finally blocks, so that h2load, etcd, redis and the servers are stopped.
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);

var usage = GrpcRuntimeSettings.Usage + Environment.NewLine + RegistrySettings.Usage + Environment.NewLine + FanoutSettings.Usage + Environment.NewLine + ProxySettings.Usage + Environment.NewLine + RedisSettings.Usage;
if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(usage);
    return 0;
}
return args[0] switch
{
    GrpcRuntimeSettings.CommandName => await RunAsync(GrpcRuntimeSettings.Parse, GrpcRuntimeSettings.Usage, GrpcRuntimeBenchmark.RunAsync),
    RegistrySettings.CommandName => await RunAsync(RegistrySettings.Parse, RegistrySettings.Usage, RegistryBenchmark.RunAsync),
    FanoutSettings.CommandName => await RunAsync(FanoutSettings.Parse, FanoutSettings.Usage, FanoutBenchmark.RunAsync),
    ProxySettings.CommandName => await RunAsync(ProxySettings.Parse, ProxySettings.Usage, ProxyBenchmark.RunAsync),
    RedisSettings.CommandName => await RunAsync(RedisSettings.Parse, RedisSettings.Usage, RedisBenchmark.RunAsync),
    // Not a benchmark: the fan-out benchmark's ceiling server, which that benchmark starts in a process of its own.
    BareKestrelFanoutServer.CommandName => await BareKestrelFanoutServer.RunAsync(args[1..], stop.Token),
    _ => UsageError($"Unknown benchmark '{args[0]}'.", usage),
};

// Parses the benchmark's options (a usage error names the bad one), runs it, and turns an interruption
// or a failure of what it drives into an exit code: 130 interrupted, 1 failed.
async Task<int> RunAsync<TSettings>(Parse<TSettings> parse, string benchmarkUsage, Func<TSettings, CancellationToken, Task<int>> run)
{
    TSettings settings;
    try
    {
        settings = parse(args.AsSpan(1));
    }
    catch (ArgumentException ex)
    {
        return UsageError(ex.Message, benchmarkUsage);
    }
    try
    {
        return await run(settings, stop.Token);
    }
    catch (OperationCanceledException) when (stop.IsCancellationRequested)
    {
        Console.Error.WriteLine("Interrupted.");
        return 130;
    }
    catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or HttpRequestException or IOException or ControlPlane.Grpc.RpcException)
    {
        Console.Error.WriteLine($"Benchmark failed: {ex}");
        return 1;
    }
}

static int UsageError(string message, string usage)
{
    Console.Error.WriteLine(message);
    Console.Error.WriteLine(usage);
    return 2;
}

void Interrupt(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

internal delegate TSettings Parse<TSettings>(ReadOnlySpan<string> args);
