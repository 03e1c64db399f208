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
switch (args[0])
{
    case GrpcRuntimeSettings.CommandName:
        GrpcRuntimeSettings grpcRuntime;
        try
        {
            grpcRuntime = GrpcRuntimeSettings.Parse(args.AsSpan(1));
        }
        catch (ArgumentException ex)
        {
            return UsageError(ex.Message, GrpcRuntimeSettings.Usage);
        }
        return await GrpcRuntimeBenchmark.RunAsync(grpcRuntime, stop.Token);
    case RegistrySettings.CommandName:
        RegistrySettings registry;
        try
        {
            registry = RegistrySettings.Parse(args.AsSpan(1));
        }
        catch (ArgumentException ex)
        {
            return UsageError(ex.Message, RegistrySettings.Usage);
        }
        return await RegistryBenchmark.RunAsync(registry, stop.Token);
    case FanoutSettings.CommandName:
        FanoutSettings fanout;
        try
        {
            fanout = FanoutSettings.Parse(args.AsSpan(1));
        }
        catch (ArgumentException ex)
        {
            return UsageError(ex.Message, FanoutSettings.Usage);
        }
        return await FanoutBenchmark.RunAsync(fanout, stop.Token);
    case ProxySettings.CommandName:
        ProxySettings proxy;
        try
        {
            proxy = ProxySettings.Parse(args.AsSpan(1));
        }
        catch (ArgumentException ex)
        {
            return UsageError(ex.Message, ProxySettings.Usage);
        }
        return await ProxyBenchmark.RunAsync(proxy, stop.Token);
    case RedisSettings.CommandName:
        RedisSettings redis;
        try
        {
            redis = RedisSettings.Parse(args.AsSpan(1));
        }
        catch (ArgumentException ex)
        {
            return UsageError(ex.Message, RedisSettings.Usage);
        }
        return await RedisBenchmark.RunAsync(redis, stop.Token);
    default:
        return UsageError($"Unknown benchmark '{args[0]}'.", usage);
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
