/** An in-process explainer sidecar on free ports with silent logs, serving the example California housing package. */
import { DEFAULT_MODEL_DIR, defaultConfig, startSidecar, type Sidecar, type SidecarConfig } from '@genome/explainer-sidecar';

export const HOUSING = 'california-housing-rf';
export const FEATURES = ['MedInc', 'HouseAge', 'AveRooms', 'AveBedrms', 'Population', 'AveOccup', 'Latitude', 'Longitude'];
/** Rows of the California housing data (the first is the README's example). */
export const ROWS = [
  [8.3252, 41, 6.9841, 1.0238, 322, 2.5556, 37.88, -122.23],
  [8.3014, 21, 6.2381, 0.9719, 2401, 2.1098, 37.86, -122.22],
  [7.2574, 52, 8.2881, 1.0734, 496, 2.8023, 37.85, -122.24],
  [5.6431, 52, 5.8174, 1.0731, 558, 2.5479, 37.85, -122.25],
];

export async function housingSidecar(over: Partial<SidecarConfig> = {}): Promise<Sidecar> {
  return startSidecar({
    ...defaultConfig(),
    host: '127.0.0.1',
    grpcPort: 0,
    httpPort: -1,
    logLevel: 'silent',
    treeWorkers: 1,
    models: [{ kind: 'package', path: DEFAULT_MODEL_DIR }],
    ...over,
  });
}
