using System.Runtime.InteropServices;
using ControlPlane.Benchmarks.GrpcRuntime;

// Benchmarks run from the repository root, in Release, with nothing else building on the machine:
//   dotnet run -c Release --project tests/ControlPlane.Benchmarks -- grpc-runtime
using var stop = new CancellationTokenSource();
// On Ctrl-C or SIGTERM, unwind through the finally blocks, so that h2load and the servers are stopped.
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(GrpcRuntimeSettings.Usage);
    return 0;
}
switch (args[0])
{
    case GrpcRuntimeSettings.CommandName:
        GrpcRuntimeSettings settings;
        try
        {
            settings = GrpcRuntimeSettings.Parse(args.AsSpan(1));
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(GrpcRuntimeSettings.Usage);
            return 2;
        }
        return await GrpcRuntimeBenchmark.RunAsync(settings, stop.Token);
    default:
        Console.Error.WriteLine($"Unknown benchmark '{args[0]}'.");
        Console.Error.WriteLine(GrpcRuntimeSettings.Usage);
        return 2;
}

void Interrupt(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
